// The explore page's top bar: home link, scope switcher, semantic and keyword search, colour-by, lasso, export and
// theme toggle.
import { TEXT_MODES } from './api.js'
import { h } from './dom.js'

export function buildHeader({ app, dataset, scope, scopeJson, scopes, meta, state, on }) {
  const textColumn = meta.text_column
  const themeButton = h('button.icon', { dataset: { testid: 'theme-toggle' }, on: { click: on.theme } })
  const searchInput = h('input', {
    type: 'search',
    placeholder: 'Semantic search…',
    'aria-label': 'Semantic search',
    value: state.filters.q,
  })
  const colorSelect = h(
    'select',
    { 'aria-label': 'Colour by', on: { change: (e) => on.color(e.target.value) } },
    h('option', { value: '' }, 'Colour: cluster'),
    meta.columns.filter((c) => c !== textColumn).map((c) => h('option', { value: c, selected: c === state.color }, c)),
  )
  const lassoButton = h('button', { 'aria-pressed': 'false', on: { click: on.lasso } }, 'Lasso')
  const exportFormat = h(
    'select',
    { 'aria-label': 'Export format', on: { change: on.exportFormat } },
    ['csv', 'parquet', 'jsonl'].map((f) => h('option', {}, f)),
  )
  const exportLink = h('a.button', { download: '', dataset: { testid: 'export' }, on: { click: on.exportClick } }, 'Export')
  // A public single_profile page shows its one scope: no home page, no other scopes.
  const single = app.mode === 'single_profile'
  const scopeSwitch = single
    ? h('span.scope-name', {}, scopeJson.label || scope)
    : h(
        'select',
        { 'aria-label': 'Scope', dataset: { testid: 'scope-switch' }, on: { change: (e) => on.scope(e.target.value) } },
        scopes.map((s) => h('option', { value: s.id, selected: s.id === scope }, `${s.label || s.id} (${s.id})`)),
      )
  const search = (e) => {
    e.preventDefault()
    on.search(searchInput.value.trim())
  }
  const keywordInput = h('input', {
    type: 'search',
    placeholder: 'Keyword…',
    'aria-label': 'Keyword search',
    value: state.filters.text,
  })
  const keywordMode = h(
    'select',
    { 'aria-label': 'Keyword match', title: 'literal text, whole words, or a regular expression (RE2)' },
    TEXT_MODES.map((m) => h('option', { value: m, selected: m === state.filters.textMode }, m)),
  )
  const keyword = (e) => {
    e?.preventDefault()
    on.keyword(keywordInput.value.trim(), keywordMode.value)
  }
  keywordMode.addEventListener('change', () => keywordInput.value.trim() && keyword())
  const header = h(
    'header.bar',
    {},
    single ? h('span.brand', {}, 'Latent Scope') : h('a.brand', { href: '/' }, 'Latent Scope'),
    h('span.dataset', {}, dataset),
    scopeSwitch,
    h('form.search', { on: { submit: search } }, searchInput),
    h('form.keyword', { on: { submit: keyword } }, keywordInput, keywordMode),
    colorSelect,
    lassoButton,
    exportFormat,
    exportLink,
    themeButton,
  )
  const keywords = { keywordInput, keywordMode }
  return { header, searchInput, ...keywords, themeButton, colorSelect, lassoButton, exportFormat, exportLink }
}
