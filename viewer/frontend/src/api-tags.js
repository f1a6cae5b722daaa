// Studio mode's tag edits (docs/viewer-api.md): every write carries the page's token, which /api/app gave it.
import { check, post, scopeBase } from './api.js'

const dsBase = (ds) => `/api/datasets/${encodeURIComponent(ds)}`
const tagBase = (ds, tag) => `${dsBase(ds)}/tags/${encodeURIComponent(tag)}`

export class TagEditor {
  constructor(app, dataset, scope) {
    this.headers = { 'x-ls-token': app.write_token }
    this.dataset = dataset
    this.scope = scope
  }

  async send(path, body) {
    return (await post(path, body, this.headers)).json()
  }

  create(tag) {
    return this.send(`${dsBase(this.dataset)}/tags`, { tag })
  }

  rename(tag, to) {
    return this.send(`${tagBase(this.dataset, tag)}/rename`, { to })
  }

  async remove(tag) {
    return (await check(await fetch(tagBase(this.dataset, tag), { method: 'DELETE', headers: this.headers }))).json()
  }

  /** Adds (action 'add') or removes ('remove') the rows a filter body matches: a selection is its ls_index. */
  rows(tag, action, body) {
    return this.send(`${scopeBase(this.dataset, this.scope)}/tags/${encodeURIComponent(tag)}/${action}`, body)
  }

  undo() {
    return this.send(`${dsBase(this.dataset)}/tag-history/undo`, {})
  }

  async tags() {
    return (await check(await fetch(`${dsBase(this.dataset)}/tags`))).json()
  }
}
