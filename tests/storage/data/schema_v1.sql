-- A database as the first release (schema version 1) left it, with some data in it.
-- Written by hand from storage/schema.py step 1 so the upgrade test starts from a real file
-- rather than from this code's own first migration.
CREATE TABLE "users" (
   "user_id" INTEGER PRIMARY KEY,
   "chat_id" INTEGER NOT NULL,
   "username" TEXT,
   "first_seen" REAL NOT NULL,
   "last_seen" REAL NOT NULL,
   "settings" TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE "alerts" (
   "id" INTEGER PRIMARY KEY,
   "user_id" INTEGER NOT NULL,
   "chat_id" INTEGER NOT NULL,
   "symbol" TEXT NOT NULL,
   "direction" TEXT NOT NULL,
   "price" REAL NOT NULL,
   "created_at" REAL NOT NULL,
   "fired_at" REAL
);
CREATE INDEX "alerts_user" ON "alerts" ("user_id");
CREATE TABLE "watchlist" (
   "user_id" INTEGER,
   "symbol" TEXT,
   "added_at" REAL NOT NULL,
   PRIMARY KEY ("user_id", "symbol")
);
INSERT INTO users VALUES (7, 70, 'alice', 1700000000.0, 1700000500.0, '{"lang": "en"}');
INSERT INTO users VALUES (8, 80, NULL, 1700000100.0, 1700000100.0, '{}');
INSERT INTO alerts VALUES (1, 7, 70, 'BTCUSDT', 'above', 100000.0, 1700000000.0, NULL);
INSERT INTO alerts VALUES (2, 7, 70, 'ETHUSDT', 'below', 2000.0, 1700000001.0, 1700000400.0);
INSERT INTO alerts VALUES (3, 8, 80, 'SOLUSDT', 'above', 250.0, 1700000002.0, NULL);
INSERT INTO watchlist VALUES (7, 'BTCUSDT', 1700000000.0);
INSERT INTO watchlist VALUES (7, 'ETHUSDT', 1700000003.0);
PRAGMA user_version = 1;
