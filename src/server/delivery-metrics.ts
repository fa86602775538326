// The outputs' delivery events, counted in the metrics and passed on to the
// caller's own observers (--once, tests).

import type { DeliveryEvents } from '../output/queue.js';
import type { CollectorMetrics } from './metrics.js';

export function countedDeliveryEvents(m: CollectorMetrics | undefined, e: DeliveryEvents | undefined): DeliveryEvents {
  return {
    onSent: (output, record) => {
      m?.outputSent.inc({ output });
      e?.onSent?.(output, record);
    },
    onRetry: (output, record, err, delayMs) => {
      m?.outputRetries.inc({ output });
      e?.onRetry?.(output, record, err, delayMs);
    },
    onDrop: (output, record, reason, err) => {
      m?.outputDropped.inc({ output, reason });
      e?.onDrop?.(output, record, reason, err);
    },
  };
}
