-- The re-send still to come after an attempt the receiver did not accept (JSON: when, the
-- waits after it, the timeout, what counts as accepted), so that a restart resumes it, and
-- the method of each attempt (WeCom checks a URL with a GET).
ALTER TABLE delivery_attempts ADD COLUMN resend TEXT;
ALTER TABLE delivery_attempts ADD COLUMN method TEXT NOT NULL DEFAULT 'POST';
CREATE INDEX delivery_attempts_resending ON delivery_attempts (space_id) WHERE resend IS NOT NULL;
