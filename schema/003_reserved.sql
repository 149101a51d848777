-- 003_reserved: number 3 is taken by the per-stage statistics migration,
-- which is developed on its own line of work. This file only keeps the
-- numbers contiguous until that migration arrives; when it does, this file
-- is deleted (the build refuses two migrations with the same number, so
-- the clash cannot go unnoticed). It changes nothing.
SELECT 1;
