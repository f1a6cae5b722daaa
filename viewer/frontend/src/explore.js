// The explore page: wires the map, panels, table and search to one state object that mirrors the URL.
import * as api from './api.js'
import { h, clear } from './dom.js'
import { HoverCard } from './hovercard.js'
import { ScatterMap } from './map.js'
import { renderChips, renderClusters, renderConditionForm, renderSearchResults, renderTags } from './panels.js'
import { buildHeader } from './header.js'
import { exploreUrl, parseRoute } from './state.js'
import { PAGE_SIZE, renderTable } from './table.js'
import { currentTheme, setTheme } from './theme.js'

export async function mountExplore(root, route, app) {
  const { dataset, scope } = route
  const base = `/api/datasets/${encodeURIComponent(dataset)}`
  const [scopeJson, meta, scopes, clusters, tags] = await Promise.all([
    api.getJSON(`${api.scopeBase(dataset, scope)}`),
    api.getJSON(`${base}/meta`),
    app.mode === 'single_profile' ? Promise.resolve([]) : api.getJSON(`${base}/scopes`),
    api.getJSON(`${api.scopeBase(dataset, scope)}/clusters`),
    api.getJSON(`${base}/tags`).catch(() => []),
  ])
  const hasLevels = clusters.some((c) => Number.isInteger(c.parent) && c.parent >= 0)  // -1: no parent topic
  const parents = hasLevels ? await api.getTopicLevels(api.scopeBase(dataset, scope)) : null
  const clustersById = new Map(clusters.map((c) => [c.cluster, c]))
  const textColumn = meta.text_column
  const state = {
    dataset,
    scope,
    filters: route.filters,
    color: route.color,
    cols: route.cols,
    sort: route.sort,
    tablePage: route.tablePage,
  }
  const ui = { sortBy: 'size', hovered: null, search: null, selection: null, selectionCount: 0 }
  // Tokens drop answers that arrive after a newer request was sent.
  const tokens = { hover: 0, mask: 0, table: 0, search: 0 }
  const rowCache = new Map()

  // ---- layout
  const el = {}
  const { header, searchInput, themeButton, ...controls } = buildHeader({
    app,
    dataset,
    scope,
    scopeJson,
    scopes,
    meta,
    state,
    on: {
      theme: toggleTheme,
      color: (c) => changeColor(c),
      lasso: () => setLasso(!ui.lasso),
      exportFormat: () => updateExportLink(),
      scope: (id) => switchScope(id),
      search: (q) => update({ filters: { ...state.filters, q } }),
    },
  })
  Object.assign(el, controls)
  el.chips = h('div.chips', { dataset: { testid: 'chips' } })
  el.error = h('div.error-line', { role: 'alert', hidden: true, dataset: { testid: 'error' } })
  el.mapWrap = h('div.map', { dataset: { testid: 'map' } })
  const card = new HoverCard(el.mapWrap)
  el.table = h('section.table')
  el.results = h('section.results', { hidden: true })
  el.clusters = h('div.cluster-list')
  el.tags = h('div.tag-list')
  el.condition = h('div')
  const sortButton = h('button.mini', { on: { click: toggleSort } }, 'sort: size')
  const side = h(
    'aside.side',
    {},
    el.results,
    h('section', {}, h('h3', {}, `Clusters (${clusters.filter((c) => !c.noise).length})`, sortButton), el.clusters),
    h('section', {}, h('h3', {}, 'Tags'), el.tags),
    h('section', {}, h('h3', {}, 'Column condition'), el.condition),
  )
  clear(root).append(
    h('div.explore', {}, header, el.chips, el.error, h('div.body', {}, side, h('main', {}, el.mapWrap, el.table))),
  )
  renderConditionForm(el.condition, { meta, onAdd: (w) => update({ filters: { ...state.filters, where: [...state.filters.where, w] } }) })

  // ---- the map
  const map = new ScatterMap(el.mapWrap, { onHover: hoverPoint, onClick: clickPoint, onLasso: lassoDone })
  await loadPoints()
  // A hook for the browser tests and the bench: screen position of a data point.
  window.__lsProject = (x, y) => map.deck.getViewports()[0].project([x, y])
  window.__lsRedrawMs = () => map.timeRedraw()

  const onKey = (e) => e.key === 'Escape' && ui.lasso && setLasso(false)
  window.addEventListener('popstate', onPopState)
  window.addEventListener('keydown', onKey)
  refresh()
  return () => {
    window.removeEventListener('popstate', onPopState)
    window.removeEventListener('keydown', onKey)
    map.destroy()
  }

  // ---- actions
  function update(patch, { push = true } = {}) {
    const filtersChanged = patch.filters && patch.filters !== state.filters
    Object.assign(state, patch)
    if (filtersChanged && patch.tablePage === undefined) state.tablePage = 0
    const url = exploreUrl(state)
    if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState']({}, '', url)
    refresh()
  }

  function onPopState() {
    const r = parseRoute(location)
    if (r.page !== 'explore' || r.dataset !== dataset || r.scope !== scope) return location.reload()
    Object.assign(state, { filters: r.filters, cols: r.cols, sort: r.sort, tablePage: r.tablePage })
    searchInput.value = r.filters.q
    if ((r.color || '') !== (state.color || '')) changeColor(r.color, false)
    refresh()
  }

  async function loadPoints() {
    const colorMeta = state.color ? meta.column_metadata?.[state.color] : null
    performance.mark('ls-points-request')
    const points = await api.getPoints(dataset, scope, state.color)
    performance.mark('ls-points-decoded')
    const mode = points.color ? (points.categories ? 'category' : 'numeric') : null
    if (colorMeta && !points.color) console.warn('colour column not returned:', state.color)
    map.setColorMode(mode)
    map.setPoints(points, clusters, currentTheme())
    performance.mark('ls-points-uploaded')
    el.mapWrap.dataset.points = String(points.length)
  }

  async function changeColor(column, push = true) {
    state.color = column
    el.colorSelect.value = column
    if (push) history.pushState({}, '', exploreUrl(state))
    await loadPoints()
    applyMask()
  }

  function switchScope(id) {
    const f = { ...state.filters, clusters: [], sel: [], lasso: null }
    location.assign(exploreUrl({ ...state, scope: id, filters: f, tablePage: 0 }))
  }

  function toggleTheme() {
    setTheme(currentTheme().name === 'dark' ? 'light' : 'dark')
    map.setTheme(currentTheme())
    renderAll()
  }

  function toggleSort() {
    ui.sortBy = ui.sortBy === 'size' ? 'name' : 'size'
    sortButton.textContent = `sort: ${ui.sortBy}`
    renderSide()
  }

  function setLasso(on) {
    ui.lasso = on
    el.lassoButton.setAttribute('aria-pressed', String(on))
    el.lassoButton.textContent = on ? 'Lasso: draw…' : 'Lasso'
    map.setLassoMode(on)
  }

  function lassoDone(poly) {
    setLasso(false)
    update({ filters: { ...state.filters, lasso: poly } })
  }

  function toggleCluster(c) {
    const cl = state.filters.clusters
    update({ filters: { ...state.filters, clusters: cl.includes(c) ? cl.filter((x) => x !== c) : [...cl, c] } })
  }

  function toggleClusters(ids, on) {
    const rest = state.filters.clusters.filter((x) => !ids.includes(x))
    update({ filters: { ...state.filters, clusters: on ? [...rest, ...ids] : rest } })
  }

  function toggleTag(t) {
    const tg = state.filters.tags
    // The server filters by one tag at a time: picking another tag replaces it.
    update({ filters: { ...state.filters, tags: tg.includes(t) ? [] : [t] } })
  }

  function removeFilter(kind, value) {
    const f = { ...state.filters }
    if (kind === 'cluster') f.clusters = f.clusters.filter((c) => c !== value)
    if (kind === 'tag') f.tags = f.tags.filter((t) => t !== value)
    if (kind === 'where') f.where = f.where.filter((_, i) => i !== value)
    if (kind === 'q') {
      f.q = ''
      searchInput.value = ''
    }
    if (kind === 'sel') f.sel = []
    if (kind === 'lasso') f.lasso = null
    update({ filters: f })
  }

  function clearFilters() {
    searchInput.value = ''
    update({ filters: { ...state.filters, clusters: [], tags: [], where: [], q: '', sel: [], lasso: null } })
  }

  // ---- hover card and clicks
  async function hoverPoint(hit, info) {
    const cluster = hit ? hit.cluster : null
    if (cluster !== ui.hovered) {
      ui.hovered = cluster
      map.setHulls(state.filters.clusters, cluster)
    }
    if (!hit) return card.hide()
    const token = ++tokens.hover
    const about = clustersById.get(hit.cluster) || { cluster: hit.cluster, label: `cluster ${hit.cluster}` }
    card.place(info.x, info.y)
    if (!rowCache.has(hit.lsIndex)) {
      card.show(about, hit.lsIndex, null, currentTheme())
      const page = await api.getRows(dataset, scope, new URLSearchParams({ ls_index: String(hit.lsIndex), limit: '1' }))
      rowCache.set(hit.lsIndex, page.rows[0])
      if (token !== tokens.hover) return
    }
    card.show(about, hit.lsIndex, rowCache.get(hit.lsIndex)?.[textColumn], currentTheme())
  }

  function clickPoint(hit, event) {
    if (!hit) return
    const sel = state.filters.sel
    const shift = event?.srcEvent?.shiftKey
    const next = sel.includes(hit.lsIndex)
      ? sel.filter((i) => i !== hit.lsIndex)
      : shift
        ? [...sel, hit.lsIndex]
        : [hit.lsIndex]
    update({ filters: { ...state.filters, sel: next } })
  }

  // ---- data refresh
  async function refresh() {
    renderAll()
    await guarded(async () => {
      await applyMask()
      await Promise.all([loadTable(), loadSearch()])
    })
  }

  /** Runs a data request; a server error (say, a bad column condition) shows as one line above the map. */
  async function guarded(fn) {
    try {
      await fn()
      el.error.hidden = true
    } catch (err) {
      el.error.textContent = String(err.message || err)
      el.error.hidden = false
    }
  }

  function renderAll() {
    themeButton.textContent = currentTheme().name === 'dark' ? '☀ Light' : '☾ Dark'
    themeButton.setAttribute('aria-label', `Switch to ${currentTheme().name === 'dark' ? 'light' : 'dark'} theme`)
    renderChips(el.chips, {
      filters: state.filters,
      clustersById,
      theme: currentTheme(),
      selectionCount: ui.selectionCount,
      onRemove: removeFilter,
      onClear: clearFilters,
    })
    renderSide()
    renderSearch()
    renderRows()
    updateExportLink()
    map.setHulls(state.filters.clusters, ui.hovered)
  }

  function renderSide() {
    renderClusters(el.clusters, {
      clusters,
      parents,
      theme: currentTheme(),
      selected: state.filters.clusters,
      sortBy: ui.sortBy,
      onToggle: toggleCluster,
      onToggleMany: toggleClusters,
      onHover: (c) => map.setHulls(state.filters.clusters, c),
    })
    renderTags(el.tags, { tags, active: state.filters.tags, onToggle: toggleTag })
  }

  /** The explicit selection (clicked points and lasso) as a sorted ls_index list, or null when there is none. */
  function selectionIndices() {
    const f = state.filters
    if (!f.sel.length && !f.lasso) return null
    let ids = f.lasso ? map.pointsInPolygon(f.lasso) : null
    ui.selectionCount = ids ? ids.length : 0
    if (f.sel.length) ids = ids ? ids.filter((i) => f.sel.includes(i)) : [...f.sel]
    return ids.sort((a, b) => a - b)
  }

  async function applyMask() {
    const token = ++tokens.mask
    const f = state.filters
    const selection = selectionIndices()
    let allowed = null
    if (api.hasServerFilter(f)) allowed = (await api.getIndices(dataset, scope, f)).indices
    if (token !== tokens.mask) return
    let matching = allowed
    if (selection) {
      const keep = allowed ? new Set(allowed) : null
      matching = keep ? selection.filter((i) => keep.has(i)) : selection
    }
    ui.matching = selection ? matching : null // client-side paging only when there is an explicit selection
    if (!matching) {
      map.setMask(null)
      el.mapWrap.dataset.matching = ''
    } else {
      const mask = new Uint8Array(map.points.length)
      for (const li of matching) {
        const r = map.rowOf[li]
        if (r >= 0) mask[r] = 1
      }
      map.setMask(mask)
      el.mapWrap.dataset.matching = String(matching.length)
    }
    renderChips(el.chips, {
      filters: f,
      clustersById,
      theme: currentTheme(),
      selectionCount: ui.selectionCount,
      onRemove: removeFilter,
      onClear: clearFilters,
    })
    updateExportLink()
    updateHighlight()
  }

  async function loadTable() {
    const token = ++tokens.table
    const params = api.filterParams(state.filters)
    params.set('limit', String(PAGE_SIZE))
    if (state.sort) params.set('sort', state.sort)
    let page
    if (ui.matching) {
      const ids = ui.matching.slice(state.tablePage * PAGE_SIZE, (state.tablePage + 1) * PAGE_SIZE)
      if (ids.length) {
        params.set('selection', ids.join(','))
        page = await api.getRows(dataset, scope, params)
      } else page = { rows: [] }
      page = { ...page, total: ui.matching.length }
    } else {
      params.set('offset', String(state.tablePage * PAGE_SIZE))
      page = await api.getRows(dataset, scope, params)
    }
    if (token !== tokens.table) return
    ui.page = page
    renderRows()
  }

  function renderRows() {
    const allColumns = meta.columns
    const columns = state.cols || [textColumn, ...allColumns.filter((c) => c !== textColumn).slice(0, 2)]
    renderTable(el.table, {
      page: ui.page,
      columns,
      allColumns,
      theme: currentTheme(),
      clustersById,
      pageIndex: state.tablePage,
      sort: state.sort,
      textColumn,
      on: {
        page: (i) => {
          state.tablePage = i
          history.replaceState({}, '', exploreUrl(state))
          guarded(loadTable)
        },
        sort: (column) => {
          state.sort = state.sort === column ? `-${column}` : state.sort === `-${column}` ? '' : column
          state.tablePage = 0
          history.replaceState({}, '', exploreUrl(state))
          guarded(loadTable)
        },
        columns: (c, on) => {
          const next = on ? [...columns, c] : columns.filter((x) => x !== c)
          state.cols = allColumns.filter((x) => next.includes(x))
          history.replaceState({}, '', exploreUrl(state))
          renderRows()
        },
        hover: (r) => setPinned(r),
        pick: (r) => map.flyTo(r.x, r.y),
      },
    })
  }

  async function loadSearch() {
    const token = ++tokens.search
    const q = state.filters.q
    if (!q) {
      ui.search = null
    } else if (ui.search?.query !== q) {
      const res = await api.search(dataset, scope, q, Math.min(state.filters.k, 100))
      if (token !== tokens.search) return
      ui.search = res
    }
    renderSearch()
    updateHighlight()
  }

  function renderSearch() {
    renderSearchResults(el.results, {
      result: ui.search,
      theme: currentTheme(),
      clustersById,
      textColumn,
      onPick: (r) => map.flyTo(r.x, r.y),
      onHover: (r) => setPinned(r),
    })
  }

  /** Rings on top of the map: search hits, picked points and the row hovered in the table or results. */
  function updateHighlight() {
    const items = []
    const add = (li, kind) => {
      const r = map.rowOf?.[li]
      if (r === undefined || r < 0) return
      items.push({ row: r, lsIndex: li, cluster: map.points.cluster[r], position: [map.points.x[r], map.points.y[r]], kind })
    }
    // Search hits that other filters remove stay dimmed like any other filtered-out point.
    const passes = (li) => !map.mask || map.mask[map.rowOf[li]] === 1
    for (const r of ui.search?.results || []) if (passes(r.ls_index)) add(r.ls_index, 'search')
    for (const li of state.filters.sel) add(li, 'picked')
    if (ui.pinned !== undefined && ui.pinned !== null) add(ui.pinned, 'pinned')
    map.setHighlight(items)
    el.mapWrap.dataset.highlighted = String(items.length)
  }

  function setPinned(row) {
    ui.pinned = row ? row.ls_index : null
    updateHighlight()
  }

  function updateExportLink() {
    const params = api.filterParams(state.filters)
    params.set('format', el.exportFormat.value)
    if (ui.matching) params.set('selection', ui.matching.slice(0, 10000).join(','))
    el.exportLink.href = `${api.scopeBase(dataset, scope)}/export?${params}`
    el.exportLink.title = ui.matching && ui.matching.length > 10000 ? 'Exports the first 10,000 selected rows' : ''
  }
}

