/**
 * Staff stock tools (docs/settlement.md "Stock tools"): export as CSV, import with a dry run
 * that shows before → after per sku and a per-row error list, an apply that writes all rows or
 * none and never goes below held + committed even while holds land, and the low-stock list —
 * over PGlite and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { DRIVERS } from './support/db.ts';
import { rawRequest } from './support/raw-http.ts';
import {
  checkStockInvariants,
  serviceFor,
  setStock,
  snapshot,
  type TestService,
} from './support/service.ts';

const STORE = 'jkt-kemang';

async function stockOf(s: TestService, sku: string, store = STORE) {
  const r = await s.request('GET', `/stores/${store}/stock`);
  return r.body.items.find((i: { sku: string }) => i.sku === sku);
}

/** Holds `qty` of `sku` at STORE through a real settlement (awaiting payment). */
async function hold(s: TestService, sku: string, qty: number) {
  const snap = snapshot({ storeId: STORE, lines: [{ sku, qty }] });
  return s.request('POST', '/settlements', {
    token: await s.token('service', 'room-server'),
    body: snap,
    headers: { 'idempotency-key': `${snap.roomId}:${snap.cartVersion}` },
  });
}

async function exportCsv(s: TestService, store = STORE) {
  const res = await fetch(`${s.url}/stores/${store}/stock/export`, {
    headers: { authorization: `Bearer ${await s.token('staff', 'staff-1', store)}` },
  });
  // keep the BOM in the text (fetch's res.text() drops it), as a saved file has it
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
  return { res, text };
}

describe.each(DRIVERS)('stock tools (%s)', (driver) => {
  const s = serviceFor(driver);
  const staff = () => s.token('staff', 'staff-1', STORE);
  const importCsv = async (csv: string, dryRun: boolean) =>
    s.request('POST', `/stores/${STORE}/stock/import`, {
      token: await staff(),
      body: { csv, dryRun },
    });

  it('exports every product as CSV with a header, a BOM and a filename', async () => {
    await setStock(s, STORE, 'MIN-0001', 12);
    const { res, text } = await exportCsv(s);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(
      new RegExp(`^attachment; filename="stock-${STORE}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`),
    );
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const lines = text.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toBe('sku,name,on_hand,held,committed,available');
    expect(lines).toHaveLength(201);
    expect(lines).toContain('MIN-0001,Teh Botol,12,0,0,12');
  });

  it('a dry run shows before → after per sku and changes nothing', async () => {
    await setStock(s, STORE, 'MIN-0002', 4);
    await setStock(s, STORE, 'CAM-0001', 7);
    const r = await importCsv('sku,on_hand\nMIN-0002,10\nCAM-0001,7\n"CAM-0003",0\n', true);
    expect(r.status).toBe(200);
    const cam3 = (await stockOf(s, 'CAM-0003')).onHand;
    expect(r.body).toMatchObject({ dryRun: true, applied: false, rows: 3, errors: [] });
    // in the file's order
    expect(r.body.changes).toEqual([
      { sku: 'MIN-0002', name: 'Kopi Susu Gula Aren', before: 4, after: 10, held: 0, committed: 0 },
      ...(cam3 === 0
        ? []
        : [
            {
              sku: 'CAM-0003',
              name: expect.any(String),
              before: cam3,
              after: 0,
              held: 0,
              committed: 0,
            },
          ]),
    ]);
    expect(r.body.changes.find((c: { sku: string }) => c.sku === 'MIN-0002')).toMatchObject({
      before: 4,
      after: 10,
    });
    expect(r.body.changes.some((c: { sku: string }) => c.sku === 'CAM-0001')).toBe(false);
    expect(r.body.unchanged).toBe(cam3 === 0 ? 2 : 1);
    expect((await stockOf(s, 'MIN-0002')).onHand).toBe(4);
  });

  it('lists every bad row, and applying such a file changes nothing at all', async () => {
    await setStock(s, STORE, 'ELE-0001', 10);
    await setStock(s, STORE, 'ELE-0002', 10);
    expect((await hold(s, 'ELE-0001', 6)).status).toBe(201);
    const csv = [
      'SKU,On Hand,note',
      'ELE-0002,3,"fine, with a comma"',
      'NOPE-1,5,',
      'ELE-0003,3.5,',
      'ELE-0004,abc,',
      'ELE-0005,-2,',
      'ELE-0001,5,below the 6 held',
      'ELE-0002,4,again',
      ',9,',
      '',
      'ELE-0006,2000000,',
    ].join('\n');
    const dry = await importCsv(csv, true);
    expect(dry.status).toBe(200);
    expect(dry.body.errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([
      [3, 'unknown_sku'],
      [4, 'not_an_integer'],
      [5, 'not_an_integer'],
      [6, 'negative'],
      [7, 'below_reserved'],
      [8, 'duplicate_sku'],
      [9, 'missing_sku'],
      [11, 'too_large'],
    ]);
    expect(
      dry.body.errors.find((e: { code: string }) => e.code === 'below_reserved'),
    ).toMatchObject({
      sku: 'ELE-0001',
      min: 6,
    });
    expect(dry.body.changes).toEqual([
      expect.objectContaining({ sku: 'ELE-0002', before: 10, after: 3 }),
    ]);
    const apply = await importCsv(csv, false);
    expect(apply.status).toBe(422);
    expect(apply.body.error.code).toBe('invalid_rows');
    expect(apply.body.error.details.errors).toHaveLength(8);
    expect((await stockOf(s, 'ELE-0002')).onHand).toBe(10); // the good row was not applied either
    const unreadable = await importCsv('sku,on_hand\n"ELE-0002,3\n', true);
    expect(unreadable.status).toBe(400);
    const nul = await importCsv('sku,on_hand\nELE-0002\u0000,3\n', false);
    expect(nul.status).toBe(400);
    const noHeader = await importCsv('ELE-0002,3\n', true);
    expect(noHeader).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    await checkStockInvariants(s);
  });

  it('applies every change at once, with the ledger; an export imports back unchanged', async () => {
    await setStock(s, STORE, 'SEM-0001', 3);
    await setStock(s, STORE, 'SEM-0002', 3);
    // a spreadsheet's file: BOM, CRLF, quoted fields
    const csv = '\uFEFF"sku","on_hand"\r\n"SEM-0001","30"\r\nSEM-0002,0\r\n';
    const r = await importCsv(csv, false);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ dryRun: false, applied: true, errors: [] });
    expect(r.body.changes).toHaveLength(2);
    expect(await stockOf(s, 'SEM-0001')).toMatchObject({ onHand: 30, available: 30 });
    expect(await stockOf(s, 'SEM-0002')).toMatchObject({ onHand: 0 });
    await checkStockInvariants(s);

    const first = (await exportCsv(s)).text;
    const again = await importCsv(first, false);
    expect(again.body).toMatchObject({ applied: true, rows: 200, unchanged: 200, changes: [] });
    // edit one count in the exported file, import it, export again: the file is the edit
    const edited = first.replace(/^(SEM-0001,[^,\r\n]*|"SEM-0001",[^,\r\n]*),30,/m, '$1,31,');
    expect(edited).not.toBe(first);
    const applied = await importCsv(edited, false);
    expect(applied.body.changes).toEqual([
      expect.objectContaining({ sku: 'SEM-0001', before: 30, after: 31 }),
    ]);
    const after = (await exportCsv(s)).text;
    expect(after).toBe(edited.replace(/(SEM-0001,[^,\r\n]*,31,0,0),30/, '$1,31'));
  });

  it('reads a file past the usual 64 KB body limit (an import may be up to 1 MB)', async () => {
    const note = 'x'.repeat(400);
    const rows = Array.from(
      { length: 200 },
      (_, i) => `MIN-${String(i + 1).padStart(4, '0')},1,${note}`,
    );
    const csv = ['sku,on_hand,note', ...rows].join('\n');
    expect(csv.length).toBeGreaterThan(65_536);
    const r = await importCsv(csv, true);
    expect(r.status).toBe(200);
    expect(r.body.rows).toBe(200);
    // On a connection of its own: the server does not read a refused body (it drains it for at
    // most 500 ms, then closes), so a pooled connection must not carry the next request.
    const hugeBody = Buffer.from(
      JSON.stringify({ csv: `sku,on_hand\n${'MIN-0001,1\n'.repeat(120_000)}`, dryRun: true }),
    );
    const huge = await rawRequest(
      Number(new URL(s.url).port),
      `POST /stores/${STORE}/stock/import HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
        `authorization: Bearer ${await staff()}\r\ncontent-type: application/json\r\n` +
        `content-length: ${hugeBody.length}\r\n\r\n`,
      { body: hugeBody },
    );
    expect(huge.status).toBe(413);
  });

  it('staff of another store may neither export nor import', async () => {
    const other = await s.token('staff', 'staff-2', 'bdg-dago');
    const exp = await s.request('GET', `/stores/${STORE}/stock/export`, { token: other });
    const imp = await s.request('POST', `/stores/${STORE}/stock/import`, {
      token: other,
      body: { csv: 'sku,on_hand\nMIN-0001,1\n', dryRun: false },
    });
    const low = await s.request('GET', `/stores/${STORE}/stock/low`, { token: other });
    expect([exp.status, imp.status, low.status]).toEqual([403, 403, 403]);
    expect((await s.request('GET', `/stores/${STORE}/stock/export`)).status).toBe(401);
  });

  it('imports racing holds never undercut them: each hold or row is refused, none oversold', async () => {
    // Every import asks for just above what is held now, while holds keep landing: without
    // the row lock an import checks a stale held and its write breaks the stock invariant.
    for (const sku of ['RUM-0001', 'RUM-0002', 'RUM-0003']) {
      await setStock(s, STORE, sku, 40);
      const results = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          if (i % 2 === 1) return hold(s, sku, 2);
          const held = (await stockOf(s, sku)).held;
          return importCsv(`sku,on_hand\n${sku},${held + 1}\n`, false);
        }),
      );
      for (const r of results)
        expect([200, 201, 409, 422], JSON.stringify(r.body)).toContain(r.status);
      const st = await stockOf(s, sku);
      expect(st.onHand).toBeGreaterThanOrEqual(st.held + st.committed);
    }
    await checkStockInvariants(s);
  });

  it('lists low stock under a threshold (default 5), lowest first', async () => {
    await setStock(s, STORE, 'BAY-0001', 2);
    await setStock(s, STORE, 'BAY-0002', 40);
    const token = await staff();
    const def = await s.request('GET', `/stores/${STORE}/stock/low`, { token });
    expect(def.status).toBe(200);
    expect(def.body.below).toBe(5);
    const avail = def.body.items.map((i: { available: number }) => i.available);
    expect(avail).toEqual([...avail].sort((a: number, b: number) => a - b));
    for (const i of def.body.items) expect(i.available).toBeLessThan(5);
    expect(def.body.items.find((i: { sku: string }) => i.sku === 'BAY-0001')).toMatchObject({
      onHand: 2,
      available: 2,
      name: expect.any(String),
    });
    const high = await s.request('GET', `/stores/${STORE}/stock/low?below=41`, { token });
    expect(high.body.items.some((i: { sku: string }) => i.sku === 'BAY-0002')).toBe(true);
    expect((await s.request('GET', `/stores/${STORE}/stock/low?below=0`, { token })).status).toBe(
      400,
    );
    expect((await s.request('GET', `/stores/${STORE}/stock/low?below=x`, { token })).status).toBe(
      400,
    );
  });
});
