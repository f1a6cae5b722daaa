// The explore page as one object whose state is declared here: what was loaded (data), what the URL holds (state),
// what only this page holds (ui), the newest request of each kind (tokens), and the page's elements (el).
import { HoverCard } from '../hovercard.js'
import { ScatterMap } from '../map.js'
import { exploreUrl, parseRoute } from '../state.js'
import { currentTheme, setTheme } from '../theme.js'
import * as data from './data.js'
import * as filters from './filters.js'
import { loadFacets, renderFacets } from './facets.js'
import { buildLayout } from './layout.js'
import { applyMapStyle } from './map-style.js'
import { loadNeighbors, renderNeighbors } from './neighbors.js'
import { benchFrame, loadTimeline, renderTimeline, stop as stopPlayback } from './timeline.js'
import * as render from './render.js'

export class ExploreView {
  /** `loaded`: app, dataset, scope, scopeJson, meta, scopes, clusters, parents, tags (see explore.js). */
  constructor(root, route, loaded) {
    this.data = {
      ...loaded,
      clustersById: new Map(loaded.clusters.map((c) => [c.cluster, c])),
      textColumn: loaded.meta.text_column,
    }
    this.state = {
      dataset: loaded.dataset,
      scope: loaded.scope,
      filters: route.filters,
      color: route.color,
      cols: route.cols,
      facets: route.facets,
      facetRank: route.facetRank,
      near: route.near,
      time: route.time,
      density: route.density,
      pointSize: route.pointSize,
      pointOpacity: route.pointOpacity,
      sort: route.sort,
      tablePage: route.tablePage,
    }
    this.ui = {
      sortBy: 'size', // the cluster list's order: size or name
      hovered: null, // the cluster under the pointer
      search: null, // the last search answer
      selection: null,
      selectionCount: 0, // points inside the lasso
      lasso: false, // drawing a lasso now
      matching: null, // the explicit selection after the other filters, when there is one (paged here)
      page: undefined, // the table page shown
      pinned: null, // the ls_index hovered in the table or results
      facets: null, // the last facets answer
      neighbors: null, // the last neighbours answer (of state.near)
      timeline: null, // the timeline's date histogram
    }
    // The newest request of each kind: an answer to an older one is dropped.
    this.tokens = { hover: 0, mask: 0, table: 0, search: 0, facets: 0, neighbors: 0, timeline: 0 }
    this.rowCache = new Map() // ls_index -> row, for the hover card
    this.el = buildLayout(root, this)
    this.timeline = { el: this.el.timeline, playing: null, playback: null, window: null } // see timeline.js
    this.mapStyle = { el: this.el.mapStyle } // see map-style.js
    this.card = new HoverCard(this.el.mapWrap)
    this.map = new ScatterMap(this.el.mapWrap, {
      onHover: (hit, info) => this.hoverPoint(hit, info),
      onClick: (hit, event) => this.clickPoint(hit, event),
      onLasso: (poly) => this.lassoDone(poly),
    })
  }

  /** Shows the points (`points`: their request, already sent), starts listening and draws everything; returns the
   * function that stops listening. */
  async start(points) {
    await data.loadPoints(this, points)
    // A hook for the browser tests and the bench: screen position of a data point.
    window.__lsProject = (x, y) => this.map.deck.getViewports()[0].project([x, y])
    window.__lsRedrawMs = () => this.map.timeRedraw()
    window.__lsPick = (x, y) => this.map.timePick(x, y)
    window.__lsPlaybackFrame = (fraction, naive) => benchFrame(this, fraction, naive)
    const onPopState = () => this.onPopState()
    const onKey = (e) => e.key === 'Escape' && this.ui.lasso && this.setLasso(false)
    window.addEventListener('popstate', onPopState)
    window.addEventListener('keydown', onKey)
    this.refresh()
    return () => {
      window.removeEventListener('popstate', onPopState)
      window.removeEventListener('keydown', onKey)
      this.map.destroy()
    }
  }

  // ---- state changes

  update(patch, { push = true } = {}) {
    const filtersChanged = patch.filters && patch.filters !== this.state.filters
    Object.assign(this.state, patch)
    if (filtersChanged && patch.tablePage === undefined) this.state.tablePage = 0
    const url = exploreUrl(this.state)
    if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState']({}, '', url)
    this.refresh()
  }

  setFilters(next) {
    this.update({ filters: next })
  }

  onPopState() {
    const r = parseRoute(location)
    const { dataset, scope } = this.data
    if (r.page !== 'explore' || r.dataset !== dataset || r.scope !== scope) return location.reload()
    const { filters: f, cols, sort, tablePage, facets, facetRank, near, time } = r
    Object.assign(this.state, { filters: f, cols, sort, tablePage, facets, facetRank, near, time })
    this.el.searchInput.value = r.filters.q
    this.el.keywordInput.value = r.filters.text
    this.el.keywordMode.value = r.filters.textMode
    if ((r.color || '') !== (this.state.color || '')) this.changeColor(r.color, false)
    Object.assign(this.state, { density: r.density, pointSize: r.pointSize, pointOpacity: r.pointOpacity })
    this.refresh()
  }

  async changeColor(column, push = true) {
    stopPlayback(this) // its points carry the colours they were sorted with
    this.state.color = column
    this.el.colorSelect.value = column
    if (push) history.pushState({}, '', exploreUrl(this.state))
    await data.loadPoints(this)
    this.applyMask()
  }

  switchScope(id) {
    const next = { ...this.state, scope: id, filters: filters.forAnotherScope(this.state.filters), tablePage: 0 }
    location.assign(exploreUrl(next))
  }

  toggleTheme() {
    setTheme(currentTheme().name === 'dark' ? 'light' : 'dark')
    this.map.setTheme(currentTheme())
    applyMapStyle(this) // the density's shade follows the theme
    render.renderAll(this)
  }

  toggleSort() {
    this.ui.sortBy = this.ui.sortBy === 'size' ? 'name' : 'size'
    this.el.sortButton.textContent = `sort: ${this.ui.sortBy}`
    render.renderSide(this)
  }

  setLasso(on) {
    this.ui.lasso = on
    this.el.lassoButton.setAttribute('aria-pressed', String(on))
    this.el.lassoButton.textContent = on ? 'Lasso: draw…' : 'Lasso'
    this.map.setLassoMode(on)
  }

  lassoDone(poly) {
    this.setLasso(false)
    this.setFilters({ ...this.state.filters, lasso: poly })
  }

  toggleCluster(c) {
    this.setFilters(filters.toggleCluster(this.state.filters, c))
  }

  toggleClusters(ids, on) {
    this.setFilters(filters.toggleClusters(this.state.filters, ids, on))
  }

  toggleTag(t) {
    this.setFilters(filters.toggleTag(this.state.filters, t))
  }

  removeFilter(kind, value) {
    if (kind === 'q') this.el.searchInput.value = ''
    if (kind === 'text') this.el.keywordInput.value = ''
    this.setFilters(filters.withoutFilter(this.state.filters, kind, value))
  }

  clearFilters() {
    this.el.searchInput.value = ''
    this.el.keywordInput.value = ''
    this.setFilters(filters.withoutAll(this.state.filters))
  }

  setPinned(row) {
    this.ui.pinned = row ? row.ls_index : null
    render.updateHighlight(this)
  }

  /** The charted columns or their ranking changed: only the facets reload. */
  setFacetView(patch) {
    Object.assign(this.state, patch)
    history.replaceState({}, '', exploreUrl(this.state))
    this.guarded(() => this.loadFacets())
  }

  updateExportLink() {
    render.updateExportLink(this)
  }

  // ---- the map's pointer

  async hoverPoint(hit, info) {
    const cluster = hit ? hit.cluster : null
    if (cluster !== this.ui.hovered) {
      this.ui.hovered = cluster
      this.map.setHulls(this.state.filters.clusters, cluster)
    }
    if (!hit) return this.card.hide()
    const about = this.data.clustersById.get(hit.cluster) || { cluster: hit.cluster, label: `cluster ${hit.cluster}` }
    this.card.place(info.x, info.y)
    const found = await data.hoveredRow(this, hit.lsIndex, () => this.card.show(about, hit.lsIndex, null, currentTheme()))
    if (found) this.card.show(about, hit.lsIndex, found.row?.[this.data.textColumn], currentTheme())
  }

  /** A click picks the point (shift: adds it) and lists its neighbours; a click on a picked point drops both. */
  clickPoint(hit, event) {
    if (!hit) return
    const next = filters.withPicked(this.state.filters, hit.lsIndex, event?.srcEvent?.shiftKey)
    const near = next.sel.includes(hit.lsIndex) ? hit.lsIndex : null
    this.update({ filters: next, near })
  }

  setTimeColumn(column) {
    stopPlayback(this)
    this.state.time = column
    history.replaceState({}, '', exploreUrl(this.state))
    this.guarded(() => this.loadTimeline())
  }

  /** Lists the neighbours of one row (null: none), without changing the filters. */
  setNear(lsIndex) {
    this.state.near = lsIndex
    history.replaceState({}, '', exploreUrl(this.state))
    this.guarded(() => this.loadNeighbors())
  }

  // ---- data

  async refresh() {
    stopPlayback(this) // the filters' mask and the playback's dimming would fight over the points
    render.renderAll(this)
    await this.guarded(async () => {
      await this.applyMask()
      const loads = [this.loadTable(), this.loadSearch(), this.loadFacets(), this.loadNeighbors(), this.loadTimeline()]
      await Promise.all(loads)
    })
  }

  /** Runs a data request; a server error (say, a bad column condition) shows as one line above the map. */
  async guarded(fn) {
    try {
      await fn()
      this.el.error.hidden = true
    } catch (err) {
      this.el.error.textContent = String(err.message || err)
      this.el.error.hidden = false
    }
  }

  async applyMask() {
    const found = await data.matchingRows(this)
    if (found === undefined) return // a newer filter is on its way
    this.ui.matching = found.selection ? found.matching : null // client-side paging only for an explicit selection
    data.setMask(this, found.matching)
    applyMapStyle(this) // the density of the rows that pass
    render.renderChipsOf(this)
    render.updateExportLink(this)
    render.updateHighlight(this)
  }

  async loadTable() {
    if (await data.loadTable(this)) render.renderRows(this)
  }

  reloadTable() {
    this.guarded(() => this.loadTable())
  }

  async loadTimeline() {
    if (await loadTimeline(this)) renderTimeline(this)
  }

  async loadNeighbors() {
    if (!(await loadNeighbors(this))) return
    renderNeighbors(this)
    render.updateHighlight(this)
  }

  async loadFacets() {
    if (await loadFacets(this)) renderFacets(this)
  }

  async loadSearch() {
    if (!(await data.loadSearch(this))) return
    render.renderSearch(this)
    render.updateHighlight(this)
  }
}
