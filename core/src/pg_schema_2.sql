-- Version 2: the compact range of a pruned prefix (SPEC 12.7), a JSON array of base64 node
-- hashes, NULL for chains pruned before it was kept (their signed heads cannot be checked).
ALTER TABLE tokenpixel_anchors ADD COLUMN IF NOT EXISTS frontier text;
