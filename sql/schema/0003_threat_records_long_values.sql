-- Cold tier, version 3: values of any length. A btree entry must fit in a third of a
-- page (about 2.7 kB), so a long URL in ctas.threat_records could be acknowledged by
-- the router and then refused here for ever (54000). A hash index keeps only a hash of
-- each value and still serves `WHERE value = ...`.
DROP INDEX IF EXISTS ctas.threat_records_kind_value;
CREATE INDEX IF NOT EXISTS threat_records_value_hash ON ctas.threat_records USING hash (value);
