-- CreateTable
CREATE TABLE "RelaySession" (
    "id" TEXT NOT NULL,
    "contractId" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "sellerId" TEXT NOT NULL,
    "buyerId" TEXT NOT NULL,
    "receiverId" TEXT NOT NULL,
    "senderDeviceId" TEXT NOT NULL,
    "receiverDeviceId" TEXT NOT NULL,
    "relayDeviceId" TEXT,
    "state" TEXT NOT NULL DEFAULT 'LIVE',
    "openedAt" TIMESTAMP(3) NOT NULL,
    "joinedAt" TIMESTAMP(3),
    "windowStart" TIMESTAMP(3) NOT NULL,
    "windowEnd" TIMESTAMP(3) NOT NULL,
    "wholeBytes" BIGINT NOT NULL,
    "senderBytes" BIGINT NOT NULL DEFAULT 0,
    "senderSeq" INTEGER NOT NULL DEFAULT 0,
    "senderAt" TIMESTAMP(3),
    "receiverBytes" BIGINT NOT NULL DEFAULT 0,
    "receiverSeq" INTEGER NOT NULL DEFAULT 0,
    "receiverAt" TIMESTAMP(3),
    "provenBytes" BIGINT,
    "endedAt" TIMESTAMP(3),
    "endedBy" TEXT,

    CONSTRAINT "RelaySession_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RelayReceipt" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "bytes" BIGINT NOT NULL,
    "at" BIGINT NOT NULL,
    "signature" TEXT NOT NULL,
    "acceptedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RelayReceipt_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "RelayReceipt" ADD CONSTRAINT "RelayReceipt_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "RelaySession"("id") ON DELETE CASCADE ON UPDATE CASCADE;
