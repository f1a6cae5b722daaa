// The explore view's state, kept in the URL so any view can be shared and reloaded.
// Path: /datasets/{ds}/explore/{scope}; query: cluster, tag, tags_mode, where, text, text_mode, q, k, sel, lasso,
// color, cols, sort, page, facets (the charted columns, when not the defaults), facet_rank, near (whose neighbours
// are listed), time (the timeline's column, when not the first date column), density (on, off), point_size,
// point_opacity.

import { filterParams, hasServerFilter, TEXT_MODES } from './api.js'

export function emptyFilters() {
  const keyword = { text: '', textMode: 'literal' }
  return { clusters: [], tags: [], tagsMode: 'all', where: [], ...keyword, q: '', k: 100, sel: [], lasso: null }
}

export function parseRoute(location) {
  const m = location.pathname.match(/^\/datasets\/([^/]+)\/explore\/([^/]+)\/?$/)
  if (!m) return { page: 'home' }
  const p = new URLSearchParams(location.search)
  const ints = (s) => (s ? s.split(',').map(Number).filter(Number.isInteger) : [])
  let where = []
  try {
    where = JSON.parse(p.get('where') || '[]')
  } catch {
    where = []
  }
  let lasso = null
  if (p.get('lasso')) {
    lasso = p
      .get('lasso')
      .split(';')
      .map((pt) => pt.split(',').map(Number))
    if (lasso.length < 3 || lasso.some((pt) => pt.length !== 2 || pt.some(Number.isNaN))) lasso = null
  }
  return {
    page: 'explore',
    dataset: decodeURIComponent(m[1]),
    scope: decodeURIComponent(m[2]),
    filters: {
      clusters: p.getAll('cluster').map(Number).filter(Number.isInteger),
      tags: p.getAll('tag'),
      tagsMode: p.get('tags_mode') === 'any' ? 'any' : 'all',
      where: Array.isArray(where) ? where : [],
      text: p.get('text') || '',
      textMode: TEXT_MODES.includes(p.get('text_mode')) ? p.get('text_mode') : 'literal',
      q: p.get('q') || '',
      k: Number(p.get('k')) || 100,
      sel: ints(p.get('sel')),
      lasso,
    },
    color: p.get('color') || '',
    cols: p.get('cols') ? p.get('cols').split(',') : null,
    facets: p.has('facets') ? p.get('facets').split(',').filter(Boolean) : null,
    facetRank: p.get('facet_rank') === 'lift' ? 'lift' : '',
    near: /^\d+$/.test(p.get('near') || '') ? Number(p.get('near')) : null,
    time: p.get('time') || '',
    density: ['on', 'off'].includes(p.get('density')) ? p.get('density') : '',
    pointSize: positive(p.get('point_size')),
    pointOpacity: positive(p.get('point_opacity')),
    sort: p.get('sort') || '',
    tablePage: Number(p.get('page')) || 0,
  }
}

function positive(raw) {
  const value = Number(raw)
  return raw && Number.isFinite(value) && value > 0 ? value : null
}

export function exploreUrl(state) {
  const { dataset, scope, filters: f } = state
  // The same filter parameters the server reads, so a shared URL and an API call never disagree.
  const p = filterParams(f)
  if (f.q && f.k === emptyFilters().k) p.delete('k') // the default k stays out of the URL
  if (f.sel.length) p.set('sel', f.sel.join(','))
  if (f.lasso) p.set('lasso', f.lasso.map(([x, y]) => `${x.toFixed(4)},${y.toFixed(4)}`).join(';'))
  if (state.color) p.set('color', state.color)
  if (state.cols) p.set('cols', state.cols.join(','))
  if (state.facets) p.set('facets', state.facets.join(','))
  if (state.facetRank) p.set('facet_rank', state.facetRank)
  if (state.near !== null && state.near !== undefined) p.set('near', String(state.near))
  if (state.time) p.set('time', state.time)
  if (state.density) p.set('density', state.density)
  if (state.pointSize) p.set('point_size', String(state.pointSize))
  if (state.pointOpacity) p.set('point_opacity', String(state.pointOpacity))
  if (state.sort) p.set('sort', state.sort)
  if (state.tablePage) p.set('page', String(state.tablePage))
  const qs = p.toString()
  return `/datasets/${encodeURIComponent(dataset)}/explore/${encodeURIComponent(scope)}${qs ? '?' + qs : ''}`
}

export function isFiltered(f) {
  return hasServerFilter(f) || f.sel.length > 0 || !!f.lasso
}
