import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/model/errors.js';
import { matchesSelector, parseLabelSelector } from '../../../shared/storage/label-selector.js';

const web = { app: 'web', tier: 'front', env: 'prod', 'weft.dev/team': 'shop' };
const db = { app: 'db', tier: 'back', env: 'stage' };
const none = {};

function matching(selector: string): string[] {
  const parsed = parseLabelSelector(selector);
  return Object.entries({ web, db, none }).flatMap(([name, labels]) =>
    matchesSelector(parsed, labels) ? [name] : [],
  );
}

describe('parseLabelSelector', () => {
  it('reads every operator', () => {
    expect(parseLabelSelector('a=1,b==2,c!=3,d in (x, y),e notin (z),f,!g')).toStrictEqual([
      { key: 'a', op: 'eq', value: '1' },
      { key: 'b', op: 'eq', value: '2' },
      { key: 'c', op: 'neq', value: '3' },
      { key: 'd', op: 'in', values: ['x', 'y'] },
      { key: 'e', op: 'notin', values: ['z'] },
      { key: 'f', op: 'exists' },
      { key: 'g', op: 'absent' },
    ]);
  });

  it('reads the empty selector (and blanks) as matching everything', () => {
    expect(parseLabelSelector('')).toStrictEqual([]);
    expect(parseLabelSelector('   ')).toStrictEqual([]);
    expect(matching('')).toStrictEqual(['web', 'db', 'none']);
  });

  it('accepts prefixed keys, empty values and spaces around terms', () => {
    expect(parseLabelSelector(' weft.dev/team = shop , tier= ')).toStrictEqual([
      { key: 'weft.dev/team', op: 'eq', value: 'shop' },
      { key: 'tier', op: 'eq', value: '' },
    ]);
  });

  it.each([
    ['a in ()', 'needs at least one value'],
    ['a in (b', 'unbalanced'],
    ['a in (b))', 'unbalanced'],
    ['a in ((b))', 'unbalanced'],
    ['!a=b', '"!" goes only before a bare key'],
    ['!a in (b)', '"!" goes only before a bare key'],
    ['a b', 'cannot read'],
    ['a=b=c', 'cannot read'],
    ['a=,', 'cannot read'],
    ['=b', 'cannot read'],
    ['-a=b', 'is not a label key'],
    ['a=-b', 'is not a label value'],
    ['a in (ok,-bad)', 'is not a label value'],
    [`a=${'v'.repeat(64)}`, 'is not a label value'],
    [`a=${'v'.repeat(4100)}`, 'longer than 4096'],
  ])('rejects %j with ValidationError at labelSelector (%s)', (selector, why) => {
    const error = (() => {
      try {
        parseLabelSelector(selector);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('labelSelector');
    expect((error as ValidationError).message).toContain(why);
  });
});

describe('matchesSelector', () => {
  it('= and == match an equal value only', () => {
    expect(matching('app=web')).toStrictEqual(['web']);
    expect(matching('app==db')).toStrictEqual(['db']);
    expect(matching('weft.dev/team=shop')).toStrictEqual(['web']);
  });

  it('!= matches a different value or a missing label, as in Kubernetes', () => {
    expect(matching('app!=web')).toStrictEqual(['db', 'none']);
  });

  it('in needs the label with one of the values; notin accepts a missing label', () => {
    expect(matching('env in (prod,dev)')).toStrictEqual(['web']);
    expect(matching('env notin (prod)')).toStrictEqual(['db', 'none']);
  });

  it('a bare key needs the label; !key needs it missing', () => {
    expect(matching('tier')).toStrictEqual(['web', 'db']);
    expect(matching('!tier')).toStrictEqual(['none']);
  });

  it('ANDs the requirements', () => {
    expect(matching('tier,env notin (stage),app!=db')).toStrictEqual(['web']);
    expect(matching('tier=back,app=web')).toStrictEqual([]);
  });

  it('treats missing labels as none', () => {
    expect(matchesSelector(parseLabelSelector('!app'))).toBe(true);
    expect(matchesSelector(parseLabelSelector('app'))).toBe(false);
  });
});
