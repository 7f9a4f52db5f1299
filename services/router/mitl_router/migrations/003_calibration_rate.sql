-- The calibration rate each decision was drawn at (adaptive calibration sampling), carried
-- to the outcomes that verify it, so the calibration sample is recomputable from the rows.
-- NULL: recorded before the rate was stored; the policy's fixed calibration_rate applies.
ALTER TABLE decisions ADD COLUMN calibration_rate double precision;
ALTER TABLE outcomes ADD COLUMN calibration_rate double precision;
