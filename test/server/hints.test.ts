// hintFor: the words for a refused scrape (401/403), which a target behind an auth proxy gives.
//
//   node --import tsx --test test/server/hints.test.ts

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hintFor } from '../../src/server/hints.js';

test('401 and 403 say to set or check the credentials; other statuses have no hint', () => {
  for (const status of [401, 403]) assert.match(hintFor({ code: 'http_status', status }) ?? '', /refused the request: set bearer_token_file or basic_auth/);
  for (const status of [500, 502, undefined]) assert.equal(hintFor({ code: 'http_status', ...(status ? { status } : {}) }), undefined);
});
