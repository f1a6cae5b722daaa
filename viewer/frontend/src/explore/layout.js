// The explore page's elements: header, chips, error line, side panels, map and table.
import { h, clear } from '../dom.js'
import { buildHeader } from '../header.js'
import { renderConditionForm } from '../panels.js'
import * as render from './render.js'
import { buildScopeEdit } from './scopeedit.js'
import { buildTagEdit } from './tagedit.js'
import { buildMapStyle } from './map-style.js'
import { buildTimeline } from './timeline.js'
import { buildChanges } from './changes.js'
import { buildExclusions } from './exclusions.js'

/** Builds the page into root and returns its elements; `view` receives the controls' events. */
export function buildLayout(root, view) {
  const { app, dataset, scope, scopeJson, scopes, meta, clusters } = view.data
  const { header, searchInput, themeButton, ...controls } = buildHeader({
    app,
    dataset,
    scope,
    scopeJson,
    scopes,
    meta,
    state: view.state,
    on: {
      theme: () => view.toggleTheme(),
      color: (c) => view.changeColor(c),
      lasso: () => view.setLasso(!view.ui.lasso),
      exportFormat: () => view.updateExportLink(),
      exportClick: (e) => render.exportSelection(view) && e.preventDefault(),
      scope: (id) => view.switchScope(id),
      search: (q) => view.update({ filters: { ...view.state.filters, q } }),
      keyword: (text, textMode) => view.update({ filters: { ...view.state.filters, text, textMode } }),
    },
  })
  const el = {
    ...controls,
    searchInput,
    themeButton,
    chips: h('div.chips', { dataset: { testid: 'chips' } }),
    error: h('div.error-line', { role: 'alert', hidden: true, dataset: { testid: 'error' } }),
    mapWrap: h('div.map', { dataset: { testid: 'map' } }),
    table: h('section.table'),
    results: h('section.results', { hidden: true }),
    neighbors: h('section.results.neighbors', { hidden: true, dataset: { testid: 'neighbors-panel' } }),
    facets: h('aside.facets', { dataset: { testid: 'facets' } }),
    timeline: buildTimeline(view),
    mapStyle: buildMapStyle(view),
    clusters: h('div.cluster-list'),
    tags: h('div.tag-list'),
    condition: h('div'),
    tagEdit: buildTagEdit(view),
    scopeEdit: buildScopeEdit(view),
    sortButton: h('button.mini', { on: { click: () => view.toggleSort() } }, 'sort: size'),
  }
  const side = h(
    'aside.side',
    {},
    el.results,
    el.neighbors,
    buildChanges(view),
    h('section', {}, h('h3', {}, `Clusters (${clusters.filter((c) => !c.noise).length})`, el.sortButton), el.clusters),
    h('section', {}, h('h3', {}, 'Tags'), el.tags, el.tagEdit?.root),
    el.scopeEdit ? h('section', {}, h('h3', {}, 'Edit clusters'), el.scopeEdit.root) : null,
    buildExclusions(view),
    h('section', {}, h('h3', {}, 'Column condition'), el.condition),
  )
  el.mapWrap.append(el.mapStyle.root)
  clear(root).append(
    h(
      'div.explore',
      {},
      header,
      el.chips,
      el.error,
      h('div.body', {}, side, h('main', {}, el.mapWrap, el.timeline.root, el.table), el.facets),
    ),
  )
  const onAdd = (w) => view.update({ filters: { ...view.state.filters, where: [...view.state.filters.where, w] } })
  renderConditionForm(el.condition, { meta, onAdd })
  return el
}
