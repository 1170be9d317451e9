'use client';

import { TransferService } from '@/app/content/_components/content-context';
import { StorageService } from '@/app/storage/storage-service';
import { PageViewService } from '@/app/pageviews/_components/page-view-service';
import { ResultsService } from '@/app/jobs/results-service';

/**
 * What a signed-in member's device runs in the background on every screen: its file transfers, its storage
 * agent and the page views it serves. The app shell loads this (and with it WebRTC, hashing and the transfer
 * manager) only once someone is signed in, so a first visit does not download them.
 */
export default function BackgroundServices() {
  return (
    <>
      <TransferService />
      <StorageService />
      <PageViewService />
      <ResultsService />
    </>
  );
}
