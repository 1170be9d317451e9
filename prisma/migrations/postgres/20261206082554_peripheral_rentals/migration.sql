-- CreateTable
CREATE TABLE "PeripheralRental" (
    "id" TEXT NOT NULL,
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
    "startedAt" TIMESTAMP(3) NOT NULL,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "windowEnd" TIMESTAMP(3) NOT NULL,
    "wholeMs" INTEGER NOT NULL,
    "provenMs" INTEGER NOT NULL DEFAULT 0,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,
    "lastReceiptAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "endedBy" TEXT,

    CONSTRAINT "PeripheralRental_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PeripheralReceipt" (
    "id" TEXT NOT NULL,
    "rentalId" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "mediaMs" INTEGER NOT NULL,
    "frames" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "signature" TEXT NOT NULL,
    "acceptedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PeripheralReceipt_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "PeripheralReceipt" ADD CONSTRAINT "PeripheralReceipt_rentalId_fkey" FOREIGN KEY ("rentalId") REFERENCES "PeripheralRental"("id") ON DELETE CASCADE ON UPDATE CASCADE;
