import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELP, loopbackBlock, parseDuration, parseOptions, UsageError } from '../src/options.ts';
import { Rng } from '../src/rng.ts';
import { resolveKind } from '../src/behaviour.ts';

const env = { ROOM_TOKEN_SECRET: 's3cret' };

describe('options', () => {
  it('has documented defaults', () => {
    const { options: o } = parseOptions([], env);
    expect(o).toMatchObject({
      urls: ['ws://127.0.0.1:1234'],
      secret: 's3cret',
      rooms: 10,
      members: 5,
      rate: 1,
      scenario: 'shopping',
      durationS: 30,
      maxConnections: 15000,
      spread: 'members',
      sourceAddresses: [],
    });
    const big = parseOptions(['--rooms', '2400', '--members', '5'], env).options;
    expect(big.sourceAddresses).toHaveLength(3);
    expect(big.sourceAddresses[0]).toMatch(/^127\.\d+\.\d+\.1$/);
    expect(big.sourceAddresses[2]).toBe(big.sourceAddresses[0]!.replace(/\.1$/, '.3'));
  });

  it('takes several URLs, repeated or comma-separated, and normalises them', () => {
    const { options: o } = parseOptions(
      ['--url', 'ws://127.0.0.1:1234,http://127.0.0.1:1235/', '--url', 'localhost:9'],
      env,
    );
    expect(o.urls).toEqual(['ws://127.0.0.1:1234', 'ws://127.0.0.1:1235', 'ws://localhost:9']);
    // loopback source addresses are IPv4, so then localhost is pinned to 127.0.0.1
    const bound = parseOptions(['--url', 'localhost:9', '--source-addresses', '2'], env).options;
    expect(bound.urls).toEqual(['ws://127.0.0.1:9']);
  });

  it('does not bind loopback source addresses for a remote target', () => {
    const { options: o } = parseOptions(['--url', 'wss://rooms.example.com'], env);
    expect(o.sourceAddresses).toEqual([]);
    expect(parseOptions(['--source-addresses', '4'], env).options.sourceAddresses).toHaveLength(4);
    expect(parseOptions(['--source-addresses', '127.0.0.9'], env).options.sourceAddresses).toEqual([
      '127.0.0.9',
    ]);
  });

  it('takes loopback source addresses from a fresh random block', () => {
    expect(loopbackBlock(2, () => 0.5)).toEqual(['127.128.128.1', '127.128.128.2']);
    expect(loopbackBlock(0)).toEqual([]);
    for (const a of loopbackBlock(254))
      expect(a).toMatch(/^127\.([1-9]\d?|1\d\d|2[0-4]\d|25[0-4])\.\d{1,3}\.\d{1,3}$/);
  });

  it('has quieter defaults for idle', () => {
    const { options: o } = parseOptions(['--scenario', 'idle'], env);
    expect(o).toMatchObject({ rate: 0, presence: 0, churn: 0 });
  });

  it('reads durations', () => {
    expect(parseDuration('30', 'd')).toBe(30);
    expect(parseDuration('500ms', 'd')).toBe(0.5);
    expect(parseDuration('2m', 'd')).toBe(120);
    expect(() => parseDuration('soon', 'duration')).toThrow(/--duration must be a duration/);
  });

  it('refuses bad input with a clear message', () => {
    const bad: [string[], RegExp][] = [
      [['--rooms', 'many'], /--rooms must be an integer/],
      [['--rooms', '0'], /at least 1/],
      [['--scenario', 'party'], /shopping, checkout or idle/],
      [['--rooms', '1000', '--members', '20'], /above --max-connections 15000/],
      [['--threshold', 'p99 < soon'], /cannot read threshold/],
      [['--url', 'ftp://x'], /ws:\/\/ or wss:\/\//],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--room-prefix', 'a b'], /room-prefix/],
    ];
    for (const [args, msg] of bad) {
      expect(() => parseOptions(args, env)).toThrow(UsageError);
      expect(() => parseOptions(args, env)).toThrow(msg);
    }
  });

  it('needs a way to get tokens, and reads the embedded secret file without creating one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-opt-'));
    try {
      expect(() => parseOptions([], { INIT_CWD: dir })).toThrow(/--secret .* or --token-url/);
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data', 'room-token-secret'), 'from-file\n');
      expect(parseOptions([], { INIT_CWD: dir }).options.secret).toBe('from-file');
      expect(parseOptions(['--token-url', 'http://x/t'], {}).options).toMatchObject({
        secret: null,
        tokenUrl: 'http://x/t',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers --help without validating anything else', () => {
    const r = parseOptions(['--help'], {});
    expect(r.help).toBe(true);
    for (const flag of [
      '--url',
      '--secret',
      '--token-url',
      '--rooms',
      '--members',
      '--rate',
      '--presence',
      '--ramp',
      '--duration',
      '--seed',
      '--scenario',
      '--json',
      '--html',
      '--threshold',
      '--workers',
      '--max-connections',
    ]) {
      expect(HELP).toContain(flag);
    }
  });
});

describe('seeded behaviour', () => {
  it('draws the same stream for the same room whatever else happens', () => {
    const a = Rng.derive(42, 7);
    const b = Rng.derive(42, 7);
    const c = Rng.derive(42, 8);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(x).toBeGreaterThanOrEqual(0);
  });

  it('keeps the cart within bounds and split changes with the organiser', () => {
    expect(resolveKind('remove', 2, false)).toBe('add');
    expect(resolveKind('add', 12, false)).toBe('remove');
    expect(resolveKind('qty', 0, false)).toBe('add');
    expect(resolveKind('split', 5, false)).toBe('comment');
    expect(resolveKind('split', 5, true)).toBe('split');
  });
});
