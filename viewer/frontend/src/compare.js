// Two scopes of one dataset side by side (as Latent Scope 1.0 compares them): hovering a point rings the same row
// on both maps, clicking a point (or a row of the table) selects its cluster pair on both, and the table says which
// clusters of A became which clusters of B (shared rows and Jaccard). Path: /datasets/{ds}/compare/{a}/{b}.
import * as api from './api.js'
import { h, clear } from './dom.js'
import { ScatterMap } from './map.js'
import { currentTheme } from './theme.js'

export function parseCompare(location) {
  const m = location.pathname.match(/^\/datasets\/([^/]+)\/compare\/([^/]+)\/([^/]+)\/?$/)
  return m ? { dataset: decodeURIComponent(m[1]), a: decodeURIComponent(m[2]), b: decodeURIComponent(m[3]) } : null
}

export const compareUrl = (ds, a, b) =>
  `/datasets/${encodeURIComponent(ds)}/compare/${encodeURIComponent(a)}/${encodeURIComponent(b)}`

export async function mountCompare(root, { dataset, a, b }) {
  const base = `/api/datasets/${encodeURIComponent(dataset)}`
  const [scopes, sideA, sideB, table] = await Promise.all([
    api.getJSON(`${base}/scopes`),
    loadSide(dataset, a),
    loadSide(dataset, b),
    api.getJSON(`${api.scopeBase(dataset, a)}/compare/${encodeURIComponent(b)}`),
  ])
  const picker = (value, testid, other) =>
    h(
      'select',
      {
        'aria-label': `Scope ${testid.slice(-1).toUpperCase()}`,
        dataset: { testid },
        on: { change: (e) => location.assign(other(e.target.value)) },
      },
      ...scopes.map((s) => h('option', { value: s.id, selected: s.id === value }, `${s.id} · ${s.label || ''}`)),
    )
  const el = {
    mapA: h('div.map', { dataset: { testid: 'compare-map-a' } }),
    mapB: h('div.map', { dataset: { testid: 'compare-map-b' } }),
    status: h('p.muted', { role: 'status', dataset: { testid: 'compare-status' } }),
    rows: h('tbody'),
  }
  clear(root).append(
    h(
      'div.compare',
      { dataset: { testid: 'compare' } },
      h(
        'header.compare-head',
        {},
        h('a', { href: '/' }, 'Latent Scope'),
        h('strong', {}, ` ${dataset}: compare `),
        picker(a, 'compare-a', (id) => compareUrl(dataset, id, b)),
        h('span', {}, ' with '),
        picker(b, 'compare-b', (id) => compareUrl(dataset, a, id)),
        h('a', { href: `/datasets/${encodeURIComponent(dataset)}/explore/${encodeURIComponent(a)}` }, ' explore A'),
      ),
      h('div.compare-maps', {}, side('A', a, el.mapA), side('B', b, el.mapB)),
      el.status,
      h(
        'section.compare-table',
        {},
        h('h3', {}, `Clusters of ${a} → clusters of ${b} (${table.rows.toLocaleString('en')} rows)`),
        h(
          'table',
          { dataset: { testid: 'overlap' } },
          h('thead', {}, h('tr', {}, ...['A', 'label', 'B', 'label', 'shared', 'of A', 'of B', 'Jaccard'].map((t) => h('th', {}, t)))),
          el.rows,
        ),
      ),
    ),
  )
  const view = new CompareView(el, sideA, sideB, table)
  view.start()
  return view
}

function side(name, id, mapEl) {
  return h('div.compare-side', {}, h('h3', {}, `${name}: ${id}`), mapEl)
}

async function loadSide(dataset, scope) {
  const [points, clusters] = await Promise.all([
    api.getPoints(dataset, scope),
    api.getJSON(`${api.scopeBase(dataset, scope)}/clusters`),
  ])
  return { points, clusters }
}

class CompareView {
  constructor(el, a, b, table) {
    this.el = el
    this.sides = [a, b]
    this.table = table
    this.selected = null // {a, b}: the cluster pair selected on both maps (b null: all of A's cluster)
    this.maps = [el.mapA, el.mapB].map(
      (container, i) =>
        new ScatterMap(container, {
          onHover: (hit) => this.hover(hit),
          onClick: (hit) => hit && this.select(i === 0 ? { a: hit.cluster, b: null } : { a: null, b: hit.cluster }),
          onLasso: () => {},
        }),
    )
  }

  start() {
    this.maps.forEach((map, i) => {
      map.setColorMode(null)
      map.setPoints(this.sides[i].points, this.sides[i].clusters, currentTheme())
      const container = [this.el.mapA, this.el.mapB][i]
      container.dataset.points = String(this.sides[i].points.length)
      container.dataset.hovered = ''
    })
    // Cluster of each ls_index in A and in B, for selecting a pair on both maps.
    this.clusterOf = this.sides.map(({ points }) => {
      const out = new Map()
      for (let i = 0; i < points.length; i++) out.set(points.lsIndex[i], points.cluster[i])
      return out
    })
    this.renderTable()
    // A hook for the browser tests: screen position of a data point on one map, from the view state it shows
    // (y up: the orthographic view is not flipped).
    window.__lsCompareProject = (side, x, y) => {
      const map = this.maps[side]
      const { target, zoom } = map.viewState
      const scale = 2 ** zoom
      const [w, h] = [map.container.clientWidth, map.container.clientHeight]
      return [w / 2 + (x - target[0]) * scale, h / 2 - (y - target[1]) * scale]
    }
  }

  /** Rings the hovered row on both maps (a row removed in one scope has no point there). */
  hover(hit) {
    const li = hit ? hit.lsIndex : null
    this.maps.forEach((map, i) => {
      const r = li === null ? -1 : map.rowOf[li] ?? -1
      const p = this.sides[i].points
      map.setHighlight(r >= 0 ? [{ position: [p.x[r], p.y[r]], cluster: p.cluster[r], row: r, lsIndex: li, kind: 'hover' }] : [])
      ;[this.el.mapA, this.el.mapB][i].dataset.hovered = r >= 0 ? String(li) : ''
    })
  }

  /** Keeps, on both maps, the rows in cluster a of A and cluster b of B (either may be null: any). */
  select(pair) {
    const same = this.selected && this.selected.a === pair.a && this.selected.b === pair.b
    this.selected = same ? null : pair
    const [inA, inB] = this.clusterOf
    const rows = []
    if (this.selected) {
      for (const [li, ca] of inA) {
        if ((pair.a === null || ca === pair.a) && (pair.b === null || inB.get(li) === pair.b)) rows.push(li)
      }
    }
    this.maps.forEach((map, i) => {
      const container = [this.el.mapA, this.el.mapB][i]
      if (!this.selected) {
        map.setMask(null)
        container.dataset.matching = ''
        return
      }
      const mask = new Uint8Array(map.points.length)
      for (const li of rows) if (map.rowOf[li] >= 0) mask[map.rowOf[li]] = 1
      map.setMask(mask)
      container.dataset.matching = String(rows.length)
    })
    const name = (v, s) => (v === null ? 'any' : `${s} ${v}`)
    this.el.status.textContent = this.selected
      ? `${rows.length.toLocaleString('en')} rows in ${name(pair.a, 'A cluster')} and ${name(pair.b, 'B cluster')}`
      : ''
    this.renderTable()
  }

  renderTable() {
    const on = (p) => this.selected && this.selected.a === p.a && this.selected.b === p.b
    clear(this.el.rows).append(
      ...this.table.pairs.map((p) =>
        h(
          'tr',
          {
            class: on(p) ? 'on' : '',
            dataset: { testid: 'overlap-row', a: String(p.a), b: String(p.b) },
            on: { click: () => this.select({ a: p.a, b: p.b }) },
          },
          ...[p.a, p.a_label ?? '', p.b, p.b_label ?? '', p.overlap, p.a_count, p.b_count, p.jaccard.toFixed(3)].map((v) =>
            h('td', {}, String(v)),
          ),
        ),
      ),
    )
  }
}
