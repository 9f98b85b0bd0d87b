-- The shared tables exactly as cursor-runner creates them. Every statement is guarded with
-- IF NOT EXISTS so that applying this to the real shared database, whose tables already exist,
-- changes nothing.

-- CreateTable
CREATE TABLE IF NOT EXISTS "system_settings" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "value" INTEGER NOT NULL DEFAULT 0,
    "created_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE IF NOT EXISTS "tasks" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "prompt" TEXT NOT NULL,
    "order" INTEGER NOT NULL DEFAULT 0,
    "createdat" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedat" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "uuid" TEXT,
    "status" INTEGER NOT NULL DEFAULT 0
);

-- CreateTable
CREATE TABLE IF NOT EXISTS "telegram_bots" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "name" TEXT NOT NULL,
    "bot_token" TEXT NOT NULL,
    "webhook_secret" TEXT NOT NULL,
    "bot_type" TEXT NOT NULL,
    "active" INTEGER NOT NULL DEFAULT 1,
    "created_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateIndex
CREATE UNIQUE INDEX IF NOT EXISTS "index_system_settings_on_name" ON "system_settings"("name");

-- CreateIndex
CREATE UNIQUE INDEX IF NOT EXISTS "index_tasks_on_uuid" ON "tasks"("uuid");

-- CreateIndex
CREATE INDEX IF NOT EXISTS "index_tasks_on_status" ON "tasks"("status");

-- CreateIndex
CREATE INDEX IF NOT EXISTS "index_tasks_on_order" ON "tasks"("order");

-- CreateIndex
CREATE INDEX IF NOT EXISTS "index_tasks_on_status_and_order" ON "tasks"("status", "order");

-- CreateIndex
CREATE UNIQUE INDEX IF NOT EXISTS "index_telegram_bots_on_name" ON "telegram_bots"("name");

-- CreateIndex
CREATE UNIQUE INDEX IF NOT EXISTS "index_telegram_bots_on_bot_token" ON "telegram_bots"("bot_token");

-- CreateIndex
CREATE UNIQUE INDEX IF NOT EXISTS "index_telegram_bots_on_webhook_secret" ON "telegram_bots"("webhook_secret");

-- CreateIndex
CREATE INDEX IF NOT EXISTS "index_telegram_bots_on_active" ON "telegram_bots"("active");

-- CreateIndex
CREATE INDEX IF NOT EXISTS "index_telegram_bots_on_bot_type" ON "telegram_bots"("bot_type");
