// The facets panel: one chart per picked column (facet-charts.js), counted by the server under every filter but the
// chart's own column, so clicking a bar or brushing a range narrows everything else and the chart still shows the
// alternatives. With any filter on, the charts show the scope's counts beside (the baseline), and categories can be
// ranked by lift: what distinguishes the cluster, tag or selection from the rest.
import * as api from '../api.js'
import { h, clear } from '../dom.js'
import { renderFacet } from '../facet-charts.js'
import { isFiltered } from '../state.js'
import { clusterColor, currentTheme } from '../theme.js'
import * as filters from './filters.js'
import { SELECTION_MAX } from './limits.js'

export const TAGS_FACET = 'ls_tags'

/** Columns a reader may chart: the dataset's (lists have no chart), the clusters and, when there are any, the tags. */
export function facetColumns(meta, tags) {
  const types = meta.column_metadata || {}
  const columns = meta.columns.filter((c) => types[c]?.type !== 'object' && c !== meta.text_column)
  return ['cluster', ...(tags.length ? [TAGS_FACET] : []), ...columns]
}

/** Asks for the charts of the current filters (and explicit selection); false when a newer request was sent. */
export async function loadFacets(view) {
  const token = ++view.tokens.facets
  const { state, ui, data } = view
  const selection = ui.matching && ui.matching.length <= SELECTION_MAX ? ui.matching : null
  const body = api.filterBody(state.filters, selection)
  if (state.facets) body.column = state.facets
  if (isFiltered(state.filters)) body.baseline = 'scope'
  if (state.facetRank === 'lift') body.rank = 'lift'
  const answer = await api.getFacets(data.dataset, data.scope, body)
  if (token !== view.tokens.facets) return false
  ui.facets = { ...answer, selectionSkipped: !!ui.matching && !selection, rank: body.rank || 'count' }
  return true
}

export function renderFacets(view) {
  const { el, state, ui, data } = view
  const answer = ui.facets
  const shown = answer ? answer.facets.map((f) => f.column) : state.facets || []
  clear(el.facets).append(
    h(
      'div.facets-head',
      {},
      h('h3', {}, 'Facets'),
      picker(view, shown),
      h(
        'button.mini',
        {
          'aria-pressed': String(state.facetRank === 'lift'),
          title: 'Rank category values by lift: their share here over their share in the whole scope',
          dataset: { testid: 'facet-rank' },
          on: { click: () => view.setFacetView({ facetRank: state.facetRank === 'lift' ? '' : 'lift' }) },
        },
        'by lift',
      ),
    ),
    answer
      ? h('p.muted.facets-total', { dataset: { testid: 'facets-total' } }, summary(answer, state.filters))
      : h('p.muted', {}, 'Loading…'),
  )
  if (!answer) return
  el.facets.dataset.rank = answer.rank // what the charts shown are ranked by
  const width = Math.max(160, (el.facets.clientWidth || 280) - 30)
  for (const facet of answer.facets) {
    el.facets.append(
      renderFacet(facet, {
        picked: pickedOf(state.filters, facet.column),
        label: (v) => valueLabel(facet.column, v, data),
        on: events(view, facet.column),
        width,
      }),
    )
  }
}

function summary(answer, f) {
  const rows = `${answer.total.toLocaleString('en')} rows`
  const max = SELECTION_MAX.toLocaleString('en')
  const note = answer.selectionSkipped ? ` (a selection over ${max} rows is left out)` : ''
  return isFiltered(f) ? `${rows} under the filters; grey: the whole scope${note}` : rows
}

function picker(view, shown) {
  const { data } = view
  const all = facetColumns(data.meta, data.tags)
  const toggle = (c, on) => {
    const next = on ? [...shown, c] : shown.filter((x) => x !== c)
    view.setFacetView({ facets: all.filter((x) => next.includes(x)) })
  }
  return h(
    'details.columns.facet-picker',
    {},
    h('summary', { dataset: { testid: 'facet-picker' } }, 'Columns'),
    h(
      'div.menu',
      {},
      all.map((c) =>
        h(
          'label',
          {},
          h('input', {
            type: 'checkbox',
            checked: shown.includes(c),
            dataset: { column: c },
            on: { change: (e) => toggle(c, e.target.checked) },
          }),
          c === TAGS_FACET ? 'tags' : c,
        ),
      ),
    ),
  )
}

function pickedOf(f, column) {
  if (column === 'cluster') return { values: f.clusters, nulls: false, range: null }
  if (column === TAGS_FACET) return { values: f.tags, nulls: false, range: null }
  return { ...filters.pickedValues(f, column), range: filters.pickedRange(f, column) }
}

function events(view, column) {
  const f = () => view.state.filters
  const set = (next) => view.setFilters(next)
  if (column === 'cluster') {
    return {
      value: (v) => set(filters.toggleCluster(f(), v)),
      nulls: () => {},
      range: () => {},
      clear: () => set({ ...f(), clusters: [] }),
    }
  }
  if (column === TAGS_FACET) {
    return {
      value: (v) => set(filters.withTagsMode(filters.toggleTag(f(), v), 'any')),
      nulls: () => {},
      range: () => {},
      clear: () => set({ ...f(), tags: [] }),
    }
  }
  return {
    value: (v) => set(filters.withValueToggled(f(), column, v)),
    nulls: () => set(filters.withNullsToggled(f(), column)),
    range: (r) => set(filters.withRange(f(), column, r)),
    clear: () => set(filters.withoutColumn(f(), column)),
  }
}

function valueLabel(column, value, data) {
  if (column === 'cluster') {
    const c = data.clustersById.get(value) || { cluster: value, label: `cluster ${value}` }
    const swatch = h('span.swatch', { style: { background: clusterColor(currentTheme(), c.cluster, c.noise) } })
    return { text: c.label, swatch }
  }
  if (column === TAGS_FACET) return { text: `#${value}`, swatch: null }
  return { text: typeof value === 'boolean' ? String(value) : String(value), swatch: null }
}
