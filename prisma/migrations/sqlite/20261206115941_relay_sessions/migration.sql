-- CreateTable
CREATE TABLE "RelaySession" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "contractId" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "sellerId" TEXT NOT NULL,
    "buyerId" TEXT NOT NULL,
    "receiverId" TEXT NOT NULL,
    "senderDeviceId" TEXT NOT NULL,
    "receiverDeviceId" TEXT NOT NULL,
    "relayDeviceId" TEXT,
    "state" TEXT NOT NULL DEFAULT 'LIVE',
    "openedAt" DATETIME NOT NULL,
    "joinedAt" DATETIME,
    "windowStart" DATETIME NOT NULL,
    "windowEnd" DATETIME NOT NULL,
    "wholeBytes" BIGINT NOT NULL,
    "senderBytes" BIGINT NOT NULL DEFAULT 0,
    "senderSeq" INTEGER NOT NULL DEFAULT 0,
    "senderAt" DATETIME,
    "receiverBytes" BIGINT NOT NULL DEFAULT 0,
    "receiverSeq" INTEGER NOT NULL DEFAULT 0,
    "receiverAt" DATETIME,
    "provenBytes" BIGINT,
    "endedAt" DATETIME,
    "endedBy" TEXT
);

-- CreateTable
CREATE TABLE "RelayReceipt" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "sessionId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "bytes" BIGINT NOT NULL,
    "at" BIGINT NOT NULL,
    "signature" TEXT NOT NULL,
    "acceptedAt" DATETIME NOT NULL,
    CONSTRAINT "RelayReceipt_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "RelaySession" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "RelaySession_contractId_key" ON "RelaySession"("contractId");

-- CreateIndex
CREATE INDEX "RelaySession_state_windowEnd_idx" ON "RelaySession"("state", "windowEnd");

-- CreateIndex
CREATE INDEX "RelaySession_sellerId_state_idx" ON "RelaySession"("sellerId", "state");

-- CreateIndex
CREATE INDEX "RelaySession_buyerId_state_idx" ON "RelaySession"("buyerId", "state");

-- CreateIndex
CREATE INDEX "RelaySession_receiverId_state_idx" ON "RelaySession"("receiverId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "RelayReceipt_sessionId_role_seq_key" ON "RelayReceipt"("sessionId", "role", "seq");
