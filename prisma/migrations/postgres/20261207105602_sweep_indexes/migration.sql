-- CreateIndex
CREATE INDEX "Order_status_windowEnd_idx" ON "Order"("status", "windowEnd");

-- CreateIndex
CREATE INDEX "Order_status_expiresAt_idx" ON "Order"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "Contract_state_windowStart_idx" ON "Contract"("state", "windowStart");

-- CreateIndex
CREATE INDEX "Contract_state_windowEnd_idx" ON "Contract"("state", "windowEnd");

-- CreateIndex
CREATE INDEX "Contract_buyOrderId_idx" ON "Contract"("buyOrderId");

-- CreateIndex
CREATE INDEX "Replica_status_expiresAt_idx" ON "Replica"("status", "expiresAt");
