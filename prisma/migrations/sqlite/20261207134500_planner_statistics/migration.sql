-- Fixed statistics for SQLite's query planner (https://sqlite.org/optoverview.html#manual_control_of_query_plans_using_sqlite_stat_tables).
-- Without statistics SQLite takes an equality on the first column of any index to match about ten rows, so
-- the indexes the sweeps use, which lead with a state or status of a handful of values, won over selective
-- ones: `id IN (...) AND status = ?`, a job's contracts by its bids, a chunk's valid replicas by contract all
-- walked every row in that state, a range that grows with the whole history (tests/integration/query-plans).
-- These rows say what holds in any database in use: each value of such a column matches a large share of the
-- table (of SQLite's assumed million rows), and the time column after it narrows that down. Connections read
-- them when they open; a later ANALYZE replaces them with measured ones. PostgreSQL keeps its own statistics.
ANALYZE sqlite_schema;
CREATE TEMP TABLE "planner_statistics" (tbl TEXT, idx TEXT, stat TEXT);
INSERT INTO "planner_statistics" (tbl, idx, stat) VALUES
  ('Order', 'Order_status_windowEnd_idx', '1000000 250000 2'),
  ('Order', 'Order_status_expiresAt_idx', '1000000 250000 2'),
  ('Contract', 'Contract_state_reviewEndsAt_idx', '1000000 125000 2'),
  ('Contract', 'Contract_state_windowStart_idx', '1000000 125000 2'),
  ('Contract', 'Contract_state_windowEnd_idx', '1000000 125000 2'),
  ('Replica', 'Replica_status_expiresAt_idx', '1000000 250000 2'),
  ('PeripheralRental', 'PeripheralRental_state_windowEnd_idx', '1000000 250000 2'),
  ('StoragePlan', 'StoragePlan_status_windowEnd_idx', '1000000 250000 2'),
  ('StorageChallenge', 'StorageChallenge_status_dueAt_idx', '1000000 250000 2'),
  ('StorageChallenge', 'StorageChallenge_status_deadline_idx', '1000000 250000 2'),
  ('ResultDelivery', 'ResultDelivery_status_nextAttemptAt_idx', '1000000 250000 2'),
  ('PageView', 'PageView_state_leaseEndsAt_idx', '1000000 250000 2'),
  ('RelaySession', 'RelaySession_state_windowEnd_idx', '1000000 250000 2'),
  ('Broadcast', 'Broadcast_state_lastSeen_idx', '1000000 250000 2');
DELETE FROM sqlite_stat1 WHERE idx IN (SELECT idx FROM "planner_statistics");
INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT tbl, idx, stat FROM "planner_statistics";
DROP TABLE "planner_statistics";
