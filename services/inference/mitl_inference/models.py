"""The models this replica serves, one per dataset, loaded from the catalog's bundles."""

from __future__ import annotations

import logging

from mitl_contracts.datasets import Catalog
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.manifest import read_manifest
from mitl_ml.runtime import LoadedModel, load_model

from mitl_inference.metrics import MODEL_INFO

log = logging.getLogger(__name__)


class ModelSet:
    """Serving models by dataset. Replacing an entry is atomic (one dict assignment), so a
    batch in flight finishes on the model it started with."""

    def __init__(self, intra_op_threads: int) -> None:
        self.intra_op_threads = intra_op_threads
        self._encoder: MiniLMEncoder | None = None
        self.by_dataset: dict[str, LoadedModel] = {}

    def encoder(self) -> MiniLMEncoder:
        # One encoder session shared by every MiniLM head: the 21 MB encoder is the big part.
        if self._encoder is None:
            self._encoder = MiniLMEncoder(intra_op_threads=self.intra_op_threads)
        return self._encoder

    def load_catalog(self, catalog: Catalog) -> None:
        for name, dataset in catalog.datasets.items():
            if dataset.model is None:
                continue
            kind = read_manifest(dataset.model).kind
            encoder = self.encoder() if kind == "minilm-logreg" else None
            model = load_model(dataset.model, self.intra_op_threads, encoder=encoder)
            if model.labels != dataset.labels:
                raise ValueError(
                    f"model {model.version} labels {model.labels} differ from dataset "
                    f"{name!r} labels {dataset.labels}"
                )
            self.serve(name, model)

    def serve(self, dataset: str, model: LoadedModel) -> None:
        previous = self.by_dataset.get(dataset)
        self.by_dataset[dataset] = model
        if previous is not None:
            MODEL_INFO.labels(dataset, previous.version).set(0)
        MODEL_INFO.labels(dataset, model.version).set(1)
        log.info("dataset %s served by model %s", dataset, model.version)
