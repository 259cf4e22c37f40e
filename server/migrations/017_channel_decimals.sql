-- 017_channel_decimals: how many decimals a channel's values are shown with
-- (issue 18: channel management in the portal). NULL: automatic (the
-- portal shows up to 7 significant digits). Only how values are shown:
-- stored values keep every digit the instrument sent.
ALTER TABLE channels ADD COLUMN decimals smallint CHECK (decimals BETWEEN 0 AND 9);
