-- Whether a decision queued a calibration review (blind, ahead of the queue), so the router
-- can count the calibration reviews still queued and not yet labeled: at raised rates they
-- never exceed the unspent calibration budget (mitl_policy.calibration_cap). false: any other
-- route, and decisions from before this was recorded.
ALTER TABLE decisions ADD COLUMN calibration boolean NOT NULL DEFAULT false;
CREATE INDEX decisions_calibration ON decisions (dataset) WHERE calibration;
