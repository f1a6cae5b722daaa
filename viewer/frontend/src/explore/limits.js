// The explore page's limits, named once.

/** Most semantic search results shown beside the map (the API allows more). */
export const SEARCH_RESULTS_MAX = 100
/** Most rows of an explicit selection sent to the server (its max_selection setting's default). */
export const SELECTION_MAX = 10000
/** Most selected rows an export link names (a longer URL breaks in some browsers and proxies). */
export const EXPORT_SELECTION_MAX = 10000
