// Drawing the explore page from its state: chips, side panels, table, search results, highlights, export link.
import * as api from '../api.js'
import { renderChips, renderClusters, renderSearchResults, renderTags } from '../panels.js'
import { exploreUrl } from '../state.js'
import * as filters from './filters.js'
import { renderTagTargets } from './tagedit.js'
import { keywordMatcher } from '../highlight.js'
import { renderTable } from '../table.js'
import { currentTheme } from '../theme.js'
import { EXPORT_SELECTION_MAX } from './limits.js'

export function renderAll(view) {
  const { el } = view
  const dark = currentTheme().name === 'dark'
  el.themeButton.textContent = dark ? '☀ Light' : '☾ Dark'
  el.themeButton.setAttribute('aria-label', `Switch to ${dark ? 'light' : 'dark'} theme`)
  renderChipsOf(view)
  renderSide(view)
  renderSearch(view)
  renderRows(view)
  updateExportLink(view)
  view.map.setHulls(view.state.filters.clusters, view.ui.hovered)
}

export function renderChipsOf(view) {
  renderChips(view.el.chips, {
    filters: view.state.filters,
    clustersById: view.data.clustersById,
    theme: currentTheme(),
    selectionCount: view.ui.selectionCount,
    onRemove: (kind, value) => view.removeFilter(kind, value),
    onClear: () => view.clearFilters(),
  })
}

export function renderSide(view) {
  const { el, state, ui, map, data } = view
  renderClusters(el.clusters, {
    clusters: data.clusters,
    parents: data.parents,
    theme: currentTheme(),
    selected: state.filters.clusters,
    sortBy: ui.sortBy,
    onToggle: (c) => view.toggleCluster(c),
    onToggleMany: (ids, on) => view.toggleClusters(ids, on),
    onHover: (c) => map.setHulls(state.filters.clusters, c),
  })
  renderTags(el.tags, {
    tags: data.tags,
    active: state.filters.tags,
    mode: state.filters.tagsMode,
    onToggle: (t) => view.toggleTag(t),
    onMode: (m) => view.setFilters(filters.withTagsMode(state.filters, m)),
  })
  renderTagTargets(el.tagEdit, data.tags)
}

export function renderRows(view) {
  const { state, data } = view
  const allColumns = data.meta.columns
  const columns = state.cols || [data.textColumn, ...allColumns.filter((c) => c !== data.textColumn).slice(0, 2)]
  renderTable(view.el.table, {
    page: view.ui.page,
    columns,
    allColumns,
    theme: currentTheme(),
    clustersById: data.clustersById,
    pageIndex: state.tablePage,
    sort: state.sort,
    textColumn: data.textColumn,
    matcher: keywordMatcher(state.filters.text, state.filters.textMode),
    on: tableEvents(view, columns, allColumns),
  })
}

function tableEvents(view, columns, allColumns) {
  const { state } = view
  const remember = () => history.replaceState({}, '', exploreUrl(state))
  return {
    page: (i) => {
      state.tablePage = i
      remember()
      view.reloadTable()
    },
    sort: (column) => {
      state.sort = state.sort === column ? `-${column}` : state.sort === `-${column}` ? '' : column
      state.tablePage = 0
      remember()
      view.reloadTable()
    },
    columns: (c, on) => {
      const next = on ? [...columns, c] : columns.filter((x) => x !== c)
      state.cols = allColumns.filter((x) => next.includes(x))
      remember()
      renderRows(view)
    },
    hover: (r) => view.setPinned(r),
    pick: (r) => {
      view.map.flyTo(r.x, r.y)
      view.setNear(r.ls_index)
    },
  }
}

export function renderSearch(view) {
  renderSearchResults(view.el.results, {
    result: view.ui.search,
    theme: currentTheme(),
    clustersById: view.data.clustersById,
    textColumn: view.data.textColumn,
    onPick: (r) => view.map.flyTo(r.x, r.y),
    onHover: (r) => view.setPinned(r),
  })
}

/** Rings on top of the map: search hits, a row's neighbours, picked points and the row hovered in the table or
 * results. */
export function updateHighlight(view) {
  const { map, ui, state } = view
  const items = []
  const add = (li, kind) => {
    const r = map.rowOf?.[li]
    if (r === undefined || r < 0) return
    const position = [map.points.x[r], map.points.y[r]]
    items.push({ row: r, lsIndex: li, cluster: map.points.cluster[r], position, kind })
  }
  // Search hits that other filters remove stay dimmed like any other filtered-out point.
  const passes = (li) => !map.mask || map.mask[map.rowOf[li]] === 1
  for (const r of ui.search?.results || []) if (passes(r.ls_index)) add(r.ls_index, 'search')
  for (const r of ui.neighbors?.results || []) add(r.ls_index, 'neighbor')
  for (const li of state.filters.sel) add(li, 'picked')
  if (ui.pinned !== undefined && ui.pinned !== null) add(ui.pinned, 'pinned')
  map.setHighlight(items)
  view.el.mapWrap.dataset.highlighted = String(items.length)
}

export function updateExportLink(view) {
  const { el, ui, data } = view
  const params = api.filterParams(view.state.filters)
  params.set('format', el.exportFormat.value)
  el.exportLink.href = `${api.scopeBase(data.dataset, data.scope)}/export?${params}`
  // A selection goes in a POST body (see exportSelection), never in the link: it may not fit in a URL.
  const capped = ui.matching && ui.matching.length > EXPORT_SELECTION_MAX
  el.exportLink.title = capped ? `Exports the first ${EXPORT_SELECTION_MAX.toLocaleString('en')} selected rows` : ''
}

/** The export link's click with an explicit selection: the rows by POST. False when the link itself will do. */
export function exportSelection(view) {
  const { ui, data, el } = view
  if (!ui.matching) return false
  const body = api.filterBody(view.state.filters, ui.matching.slice(0, EXPORT_SELECTION_MAX))
  view.guarded(() => api.downloadExport(data.dataset, data.scope, el.exportFormat.value, body))
  return true
}
