-- CreateTable
CREATE TABLE "PeripheralRental" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "contractId" TEXT NOT NULL,
    "communityId" TEXT NOT NULL,
    "sellerId" TEXT NOT NULL,
    "buyerId" TEXT NOT NULL,
    "sellerDeviceId" TEXT NOT NULL,
    "buyerDeviceId" TEXT,
    "kind" TEXT NOT NULL,
    "minWidth" INTEGER NOT NULL,
    "minHeight" INTEGER NOT NULL,
    "minFps" INTEGER NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'LIVE',
    "startedAt" DATETIME NOT NULL,
    "windowStart" DATETIME NOT NULL,
    "windowEnd" DATETIME NOT NULL,
    "wholeMs" INTEGER NOT NULL,
    "provenMs" INTEGER NOT NULL DEFAULT 0,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,
    "lastReceiptAt" DATETIME,
    "endedAt" DATETIME,
    "endedBy" TEXT
);

-- CreateTable
CREATE TABLE "PeripheralReceipt" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "rentalId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "mediaMs" INTEGER NOT NULL,
    "frames" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "signature" TEXT NOT NULL,
    "acceptedAt" DATETIME NOT NULL,
    CONSTRAINT "PeripheralReceipt_rentalId_fkey" FOREIGN KEY ("rentalId") REFERENCES "PeripheralRental" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "PeripheralRental_contractId_key" ON "PeripheralRental"("contractId");

-- CreateIndex
CREATE INDEX "PeripheralRental_state_windowEnd_idx" ON "PeripheralRental"("state", "windowEnd");

-- CreateIndex
CREATE INDEX "PeripheralRental_sellerId_state_idx" ON "PeripheralRental"("sellerId", "state");

-- CreateIndex
CREATE INDEX "PeripheralRental_buyerId_state_idx" ON "PeripheralRental"("buyerId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "PeripheralReceipt_rentalId_seq_key" ON "PeripheralReceipt"("rentalId", "seq");
