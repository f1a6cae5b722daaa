// The explore page's requests: points, the filter mask, the table page, search results and the hover card's row.
// Each takes a token first and drops its answer when a newer request of its kind was sent meanwhile.
import * as api from '../api.js'
import { PAGE_SIZE } from '../table.js'
import { currentTheme } from '../theme.js'
import { SEARCH_RESULTS_MAX } from './limits.js'
import { applyMapStyle } from './map-style.js'

/** Loads the points (or awaits `sent`, their request for the current colour) and hands them to the map. */
export async function loadPoints(view, sent = null) {
  const { dataset, scope, meta, clusters } = view.data
  const colorMeta = view.state.color ? meta.column_metadata?.[view.state.color] : null
  const points = await (sent ?? api.getPoints(dataset, scope, view.state.color))
  performance.mark('ls-points-ready')
  const mode = points.color ? (points.categories ? 'category' : 'numeric') : null
  if (colorMeta && !points.color) console.warn('colour column not returned:', view.state.color)
  view.map.setColorMode(mode)
  view.map.setPoints(points, clusters, currentTheme(), view.data.parents)
  applyMapStyle(view)
  view.el.mapWrap.dataset.points = String(points.length)
}

/** The explicit selection (clicked points and lasso) as a sorted ls_index list, or null when there is none. */
export function selectionIndices(view) {
  const f = view.state.filters
  if (!f.sel.length && !f.lasso) return null
  let ids = f.lasso ? view.map.pointsInPolygon(f.lasso) : null
  view.ui.selectionCount = ids ? ids.length : 0
  if (f.sel.length) ids = ids ? ids.filter((i) => f.sel.includes(i)) : [...f.sel]
  return ids.sort((a, b) => a - b)
}

/** The rows every filter keeps (server filters, then the selection); null when nothing filters. */
export async function matchingRows(view) {
  const token = ++view.tokens.mask
  const f = view.state.filters
  const selection = selectionIndices(view)
  let allowed = null
  if (api.hasServerFilter(f)) allowed = (await api.getIndices(view.data.dataset, view.data.scope, f)).indices
  if (token !== view.tokens.mask) return undefined
  if (!selection) return { matching: allowed, selection }
  const keep = allowed ? new Set(allowed) : null
  return { matching: keep ? selection.filter((i) => keep.has(i)) : selection, selection }
}

export function setMask(view, matching) {
  const { map, el } = view
  if (!matching) {
    map.setMask(null)
    el.mapWrap.dataset.matching = ''
    return
  }
  const mask = new Uint8Array(map.points.length)
  for (const li of matching) {
    const r = map.rowOf[li]
    if (r >= 0) mask[r] = 1
  }
  map.setMask(mask)
  el.mapWrap.dataset.matching = String(matching.length)
}

/** One table page: of the explicit selection (paged here), or of the server's filtered rows. */
export async function loadTable(view) {
  const token = ++view.tokens.table
  const { dataset, scope } = view.data
  const { state, ui } = view
  const params = api.filterParams(state.filters)
  params.set('limit', String(PAGE_SIZE))
  if (state.sort) params.set('sort', state.sort)
  let page
  if (ui.matching) {
    const ids = ui.matching.slice(state.tablePage * PAGE_SIZE, (state.tablePage + 1) * PAGE_SIZE)
    if (ids.length) {
      const body = api.filterBody(state.filters, ids)
      body.limit = PAGE_SIZE
      if (state.sort) body.sort = state.sort
      page = await api.postRows(dataset, scope, body)
    } else page = { rows: [] }
    page = { ...page, total: ui.matching.length }
  } else {
    params.set('offset', String(state.tablePage * PAGE_SIZE))
    page = await api.getRows(dataset, scope, params)
  }
  if (token !== view.tokens.table) return false
  ui.page = page
  return true
}

/** The semantic search results for the filters' q (kept while q stays the same). */
export async function loadSearch(view) {
  const token = ++view.tokens.search
  const q = view.state.filters.q
  if (!q) {
    view.ui.search = null
  } else if (view.ui.search?.query !== q) {
    const k = Math.min(view.state.filters.k, SEARCH_RESULTS_MAX)
    const res = await api.search(view.data.dataset, view.data.scope, q, k)
    if (token !== view.tokens.search) return false
    view.ui.search = res
  }
  return true
}

/** The hovered row as { row }, from the cache or one request (onLoading runs first); null once outdated. */
export async function hoveredRow(view, lsIndex, onLoading) {
  const token = ++view.tokens.hover
  if (!view.rowCache.has(lsIndex)) {
    onLoading()
    const page = await api.getRows(view.data.dataset, view.data.scope, rowQuery(lsIndex))
    view.rowCache.set(lsIndex, page.rows[0])
    if (token !== view.tokens.hover) return null
  }
  return { row: view.rowCache.get(lsIndex) }
}

function rowQuery(lsIndex) {
  return new URLSearchParams({ ls_index: String(lsIndex), limit: '1' })
}
