-- PostgreSQL keeps its own planner statistics (ANALYZE, run by autovacuum): nothing to set here. The SQLite
-- migration of the same name gives SQLite fixed statistics for the indexes that lead with a state or status.
SELECT 1;
