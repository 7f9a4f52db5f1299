"""The confidence policy: pure, synchronous, I/O-free rules shared by the router service
(services/router) and the loop simulator (mitl_ml.sim).

core.py decides a route (multilabel.py and spans.py for items made of parts, through
parts.py); calibration.py and bounds.py learn per-class accept thresholds from
verdicts; verdicts.py turns human labels into verdicts; uncertainty.py, diversity.py and
escalation.py feed the decision; requests.py and policy_events.py build the events the router
publishes. Nothing here reads a database, a broker or a clock: callers pass what they know.
"""
