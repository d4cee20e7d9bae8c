CREATE TABLE IF NOT EXISTS tokenpixel_pixels (
  agent_id text NOT NULL,
  seq bigint NOT NULL,
  hash text NOT NULL UNIQUE,
  prev_hash text NOT NULL,
  corridor text NOT NULL,
  timestamp_ms bigint NOT NULL,
  line text NOT NULL,
  PRIMARY KEY (agent_id, seq)
);
CREATE TABLE IF NOT EXISTS tokenpixel_anchors (
  agent_id text PRIMARY KEY,
  anchor text NOT NULL,
  first_seq bigint NOT NULL
);
CREATE OR REPLACE FUNCTION tokenpixel_link() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  prev text;
  a record;
BEGIN
  SELECT hash INTO prev FROM tokenpixel_pixels
    WHERE agent_id = NEW.agent_id AND seq = NEW.seq - 1;
  IF FOUND THEN
    IF prev = NEW.prev_hash THEN
      RETURN NEW;
    END IF;
  ELSIF NOT EXISTS (SELECT 1 FROM tokenpixel_pixels
                    WHERE agent_id = NEW.agent_id AND seq < NEW.seq) THEN
    SELECT anchor, first_seq INTO a FROM tokenpixel_anchors WHERE agent_id = NEW.agent_id;
    IF FOUND THEN
      IF NEW.seq = a.first_seq AND NEW.prev_hash = a.anchor THEN
        RETURN NEW;
      END IF;
    ELSIF NEW.seq = 0
      AND NEW.prev_hash = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION USING ERRCODE = 'TP001',
    MESSAGE = format('chain conflict: pixel seq %s of agent %s does not extend the stored chain',
                     NEW.seq, NEW.agent_id);
END
$fn$;
CREATE OR REPLACE TRIGGER tokenpixel_link BEFORE INSERT ON tokenpixel_pixels
  FOR EACH ROW EXECUTE FUNCTION tokenpixel_link();
CREATE OR REPLACE FUNCTION tokenpixel_notify() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('tokenpixel', NEW.agent_id || ' ' || NEW.seq);
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER tokenpixel_notify AFTER INSERT ON tokenpixel_pixels
  FOR EACH ROW EXECUTE FUNCTION tokenpixel_notify();
