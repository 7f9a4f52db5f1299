# One entry point: CI calls the same targets a person does.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
MODEL   := models/trec6-bootstrap/manifest.json
# The true int8 MiniLM encoder, quantized from the shipped one (mitl_ml.quantize); the
# bootstrap model is trained on it (and carries it) when mitl_ml.quantize.INT8_IS_DEFAULT.
ENCODER := models/encoders/minilm-int8/quantization.json

CHROMIUM := /usr/bin/chromium
# Apache Kafka's jars, copied out of Maven Central once (kafka/pom.xml pins the release).
KAFKA    := .local/kafka/libs/.fetched

.PHONY: install kafka rulecheck browser run test test-unit test-integration lint typecheck bench chaos simulate models clean

install: $(STAMP)

$(STAMP): requirements.lock requirements-data.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-data.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

kafka: $(KAFKA)

$(KAFKA): kafka/pom.xml
	rm -rf .local/kafka/libs
	mvn -q -f kafka/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/.local/kafka/libs
	touch $(KAFKA)

# Prometheus' own rule parser (the one `promtool check rules` runs), built from Go modules once:
# the deploy tests check the alerting rules with it.
RULECHECK := .local/bin/rulecheck

rulecheck: $(RULECHECK)

$(RULECHECK): deploy/tools/rulecheck/main.go deploy/tools/rulecheck/go.mod deploy/tools/rulecheck/go.sum
	mkdir -p .local/bin
	cd deploy/tools/rulecheck && go build -o $(CURDIR)/$(RULECHECK) .

# The review UI's browser test drives Debian's Chromium (no browser download at run time).
browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

$(ENCODER): libs/ml/mitl_ml/quantize.py | $(STAMP)
	$(BIN)/python -m mitl_ml.quantize --out $(dir $(ENCODER))

$(MODEL): $(ENCODER) | $(STAMP)
	$(BIN)/python -m mitl_ml.bootstrap --out models/trec6-bootstrap --dataset trec6

# The image datasets' bootstrap models (heads on raw pixels; a second each).
IMAGE_MODELS := models/digits-pixels/manifest.json models/lfw-pixels/manifest.json

models/%-pixels/manifest.json: libs/ml/mitl_ml/images.py | $(STAMP)
	$(BIN)/python -m mitl_ml.bootstrap --out models/$*-pixels --dataset $* --kind pixels

# The span dataset's pre-labeler (spaCy's pretrained pipeline, kind spacy-ner; nothing trained:
# the bundle names the pipeline and the catalog's entity_map, and records what it measures).
SPAN_MODELS := models/wnut16-spacy/manifest.json

models/wnut16-spacy/manifest.json: libs/ml/mitl_ml/spacy_ner.py config/datasets.yaml | $(STAMP)
	$(BIN)/python -m mitl_ml.bootstrap_spans --out models/wnut16-spacy --dataset wnut16

# The multi-label text dataset's bootstrap model (a one-vs-rest head on MiniLM + TF-IDF
# features from 600 tweets; about 40 s, mostly the encoder).
TEXT_MULTILABEL_MODELS := models/wnut16-types-ovr/manifest.json

models/wnut16-types-ovr/manifest.json: libs/ml/mitl_ml/text_ovr.py libs/ml/mitl_ml/text_multilabel_data.py | $(STAMP)
	$(BIN)/python -m mitl_ml.bootstrap_multilabel --out models/wnut16-types-ovr --dataset wnut16-types

models: $(MODEL) $(IMAGE_MODELS) $(SPAN_MODELS) $(TEXT_MULTILABEL_MODELS)

# `make run RUN_ARGS="--annotators 3"`: simulated people label the stream, so the loop turns.
RUN_ARGS ?=
run: install kafka models
	$(BIN)/mitl run $(RUN_ARGS)

# The unit tests (pure cores) on both cores first, then everything that needs the broker,
# Postgres, a browser or the deploy tools, in one session (one broker for all of it). Each
# session keeps its temporary folders under .local/test-tmp, not /tmp/pytest-of-<user>:
# pgserver runs PostgreSQL as another user and opens the folders above a stack's data
# directory to it, and any other pytest session of the same user that starts meanwhile makes
# /tmp/pytest-of-<user> private again, which cut running stacks off their databases.
# (Running the two halves side by side took as long: the broker tests keep both cores busy.)
TEST_TMP := $(CURDIR)/.local/test-tmp
test: install kafka rulecheck browser
	mkdir -p $(TEST_TMP)
	$(BIN)/pytest -q -n 2 --basetemp=$(TEST_TMP)/unit tests/unit
	$(BIN)/pytest -q --basetemp=$(TEST_TMP)/rest --ignore=tests/unit

test-unit: install
	$(BIN)/pytest -q tests/unit

test-integration: install kafka browser
	$(BIN)/pytest -q -m "integration or e2e"

lint: install
	$(BIN)/ruff check libs services tests deploy scripts
	$(BIN)/ruff format --check libs services tests deploy scripts
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: install
	$(BIN)/mypy libs services

# Benchmarks print their figures (speed is never asserted in tests: the machine is shared).
# Inference runs twice: on shared cores, and with the model on a CPU of its own (needs two;
# docs/models.md, "The model on a core of its own").
bench: install kafka models
	$(BIN)/mitl bench encoder --json
	$(BIN)/mitl bench inference --json
	[ "$$(nproc)" -lt 2 ] || $(BIN)/mitl bench inference --json --pin auto
	$(BIN)/mitl bench inference --json --model tfidf --items 20000
	$(BIN)/mitl bench review --json
	$(BIN)/mitl bench drift --json

# Crash, restart, load and fuzz scenarios with the full stack; prints the table.
chaos: install kafka models
	$(BIN)/mitl chaos

simulate: install
	$(BIN)/mitl simulate --dataset sms_spam --seeds 0,1,2 --target 0.98

clean:
	rm -rf .local models
