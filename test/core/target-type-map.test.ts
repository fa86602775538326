// TargetTypeMap: per (target, type) state that goes with its target.
//
//   node --import tsx --test test/core/target-type-map.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TargetTypeMap } from '../../src/core/target-type-map.js';

describe('TargetTypeMap', () => {
  it('keeps values per target and type; retainTargets forgets whole targets and says which', () => {
    const m = new TargetTypeMap<number>();
    m.set('a', 'cpu', 1);
    m.set('a', 'heap', 2);
    m.set('b/with-slash', 'cpu', 3);
    m.set('c', 'cpu', 4);
    assert.equal(m.get('a', 'heap'), 2);
    assert.equal(m.get('b/with-slash', 'cpu'), 3, 'a target id may hold any character');
    assert.equal(m.get('b', 'with-slash/cpu'), undefined);
    assert.equal(m.size, 4);
    assert.deepEqual(m.retainTargets(new Set(['a'])).sort(), ['b/with-slash', 'c']);
    assert.equal(m.size, 2);
    assert.deepEqual([...m.ofTarget('a')], [['cpu', 1], ['heap', 2]]);
    m.delete('a', 'cpu');
    m.delete('a', 'heap');
    assert.equal(m.size, 0);
    assert.deepEqual(m.retainTargets(new Set()), [], 'an emptied target is gone already');
  });
});
