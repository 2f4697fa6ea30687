// roster's console: one module, no build step. It reads and steers roster only through
// roster's own /_roster/ routes, with the admin token the user signs in with, kept in this
// tab's sessionStorage and sent as `Authorization: Bearer`. Views are chosen by the URL's hash.

const TOKEN = 'roster-admin-token';
/// How often an open space's change log is asked for news.
const POLL_MS = 1000;
const PAGE = 25;

// ---------------------------------------------------------------------------------------------
// Talking to roster

class SignedOut extends Error {}

async function call(path, { method = 'GET', json, body } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ''}` };
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const response = await fetch(`/_roster${path}`, { method, headers, body });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN);
    show();
    throw new SignedOut();
  }
  return response;
}

/// The JSON answer of a roster route; its `error` thrown when it refuses (with the status and
/// the whole answer).
async function api(path, options) {
  const response = await call(path, options);
  const data = await response.json();
  if (!response.ok) {
    throw Object.assign(new Error(data.error ?? response.statusText), { status: response.status, answer: data });
  }
  return data;
}

/// Where to follow a space's changes from, to show its last `n`: never before its oldest kept.
const recentFrom = (summary, n) =>
  Math.max(summary.oldest_change ? summary.oldest_change - 1 : summary.last_change, summary.last_change - n);

const query = (params) => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
};

// ---------------------------------------------------------------------------------------------
// Building the page

/// An element: `attrs` are properties (`class`, `on*` handlers, `data-*`, anything else as an
/// attribute); children are nodes, text, arrays of them, or nothing.
function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'g', 'line', 'circle', 'text', 'title', 'path', 'marker', 'defs'].includes(tag);
  const element = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : value);
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const main = () => document.getElementById('main');

function replace(target, ...children) {
  target.replaceChildren();
  append(target, children);
}

const failure = (error) => h('p', { class: 'error', role: 'alert' }, error.message ?? String(error));

/// How many times each element was filled: only the latest fill of an element shows.
const fills = new WeakMap();

/// Fill `target` with what `build` builds, or the error; unless a later fill started meanwhile.
async function fill(target, build) {
  const turn = (fills.get(target) ?? 0) + 1;
  fills.set(target, turn);
  let built;
  try {
    built = await build();
  } catch (error) {
    if (error instanceof SignedOut) return;
    built = failure(error);
  }
  if (fills.get(target) === turn) replace(target, built);
}

const time = (seconds) => new Date(seconds * 1000).toLocaleString();
const pretty = (text) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

/// The name a dialect gave an entity, when it gave one (`attrs.name`).
const label = (entity) => (typeof entity.attrs?.name === 'string' ? entity.attrs.name : '');

/// One hue per kind, so a kind has one colour wherever it shows.
function hue(kind) {
  let hash = 0;
  for (const char of kind) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}
const kindColor = (kind) => `hsl(${hue(kind)} 60% 45%)`;
const kindTag = (kind) => h('span', { class: `kind k${hue(kind) % 12}` }, kind);

// ---------------------------------------------------------------------------------------------
// Where things are: #/spaces, #/space/D/K, #/entity/D/K/KIND/KEY, #/graph/D/K/KIND/KEY/HOPS,
// #/activity/TAB

const part = encodeURIComponent;
const spaceHref = (space) => `#/space/${space.split('/').map(part).join('/')}`;
const entityHref = (space, entity) =>
  `#/entity/${space.split('/').map(part).join('/')}/${part(entity.kind)}/${part(entity.key)}`;
const graphHref = (space, entity, hops) =>
  `#/graph/${space.split('/').map(part).join('/')}/${part(entity.kind)}/${part(entity.key)}/${hops}`;
const spacePath = (space) => `/spaces/${space.split('/').map(part).join('/')}`;

const views = {
  spaces: () => spacesView(),
  space: ([dialect, key]) => spaceView(`${dialect}/${key}`),
  entity: ([dialect, key, kind, entityKey]) =>
    entityView(`${dialect}/${key}`, { kind, key: entityKey }),
  graph: ([dialect, key, kind, entityKey, hops]) =>
    graphView(`${dialect}/${key}`, { kind, key: entityKey }, Number(hops) === 2 ? 2 : 1),
  activity: ([tab]) => activityView(tab ?? 'requests'),
};

function show() {
  live.stop();
  const signedIn = sessionStorage.getItem(TOKEN) !== null;
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('sign-out').hidden = !signedIn;
  if (!signedIn) return loginView();
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const view = views[name] ?? views.spaces;
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('current', link.dataset.section === (name === 'activity' ? 'activity' : 'spaces'));
  }
  return view(rest.map(decodeURIComponent));
}

// ---------------------------------------------------------------------------------------------
// Live: while a space is open, its change log is followed and the view refreshed on news.

const live = {
  timer: null,
  /// Counts follows, so a poll that was in flight when its view went away stops there.
  generation: 0,
  stop() {
    clearTimeout(this.timer);
    this.generation += 1;
    document.getElementById('live').hidden = true;
  },
  /// Follow `space`'s changes after `seq`; `refresh(changes)` on each batch.
  follow(space, seq, refresh) {
    this.stop();
    const generation = this.generation;
    const badge = document.getElementById('live');
    badge.hidden = false;
    badge.textContent = 'live';
    badge.title = `following ${space}'s changes`;
    const poll = async () => {
      try {
        const page = await api(`/changes${query({ space, after: seq, limit: 1000 })}`);
        if (generation !== this.generation) return;
        seq = page.next;
        if (page.changes.length) {
          badge.textContent = `live · ${page.changes.length} new`;
          await refresh(page.changes);
        }
      } catch (error) {
        if (error instanceof SignedOut) return;
        if (error.status === 410 && generation === this.generation) {
          // Changes it had not read yet went past the retention horizon: say so, show the
          // view as it now is, and go on after them.
          seq = error.answer.oldest - 1;
          await refresh([]);
          badge.textContent = `live · missed changes before #${error.answer.oldest}`;
          badge.title = error.message;
        } else {
          badge.textContent = 'live · retrying';
        }
      }
      if (generation === this.generation) this.timer = setTimeout(poll, POLL_MS);
    };
    this.timer = setTimeout(poll, POLL_MS);
  },
};

// ---------------------------------------------------------------------------------------------
// Signing in

function loginView() {
  const input = h('input', {
    id: 'token', type: 'password', name: 'token', autocomplete: 'current-password',
    required: true, placeholder: 'admin token',
  });
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    class: 'login',
    onsubmit: async (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN, input.value);
      const response = await fetch('/_roster/spaces', {
        headers: { Authorization: `Bearer ${input.value}` },
      });
      if (response.ok) {
        if (!location.hash || location.hash === '#/') location.hash = '#/spaces';
        show();
      } else {
        sessionStorage.removeItem(TOKEN);
        message.textContent = 'That is not the admin token (roster printed it at start, or see --admin-token).';
      }
    },
  },
  h('h1', {}, 'Sign in'),
  h('p', { class: 'muted' }, 'The console needs roster’s admin token. It stays in this tab only.'),
  input, h('button', { type: 'submit' }, 'Sign in'), message);
  replace(main(), form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Spaces

async function spacesView() {
  const target = h('div', { class: 'cards' }, h('p', { class: 'muted' }, 'Loading spaces…'));
  replace(main(), h('h1', {}, 'Spaces'), target);
  await fill(target, async () => {
    const { spaces } = await api('/spaces');
    const summaries = await Promise.all(spaces.map((s) => api(spacePath(s.space))));
    if (!summaries.length) return h('p', { class: 'muted' }, 'roster holds no space yet.');
    return summaries.map(spaceCard);
  });
}

function spaceCard(summary) {
  const kinds = Object.entries(summary.counts.kinds);
  const limits = Object.entries(summary.limits);
  return h('a', { class: 'card space', href: spaceHref(summary.space) },
    h('h2', {}, h('span', { class: `dialect ${summary.dialect}` }, summary.dialect), ' ', summary.key),
    h('dl', { class: 'counts' },
      kinds.map(([kind, n]) => [h('dt', {}, kindTag(kind)), h('dd', {}, n)]),
      h('dt', {}, 'edges'), h('dd', {}, summary.counts.edges)),
    limits.length
      ? h('p', { class: 'limits' }, 'limits: ', limits.map(([name, value]) => `${name} ${value}`).join(' · '))
      : h('p', { class: 'limits muted' }, 'vendor default limits'));
}

// ---------------------------------------------------------------------------------------------
// One space: its kinds, a search over keys and every alias, and its latest changes

async function spaceView(space) {
  const state = { kind: '', q: '' };
  const header = h('div', { class: 'summary' });
  const results = h('div', { class: 'results' });
  const feed = h('ol', { class: 'feed' });
  const search = h('input', {
    id: 'search', type: 'search', placeholder: 'key or any id (user id, open_id, email, tag name…)',
  });
  const kinds = h('div', { class: 'kinds' });
  const form = h('form', {
    class: 'search',
    onsubmit: (event) => {
      event.preventDefault();
      state.q = search.value.trim();
      loadResults();
    },
  }, search, h('button', { type: 'submit' }, 'Search'));
  replace(main(),
    h('p', { class: 'crumbs' }, h('a', { href: '#/spaces' }, 'Spaces'), ' / ', space),
    header,
    h('div', { class: 'split' },
      h('section', {}, kinds, form, results),
      h('aside', {}, h('h3', {}, 'Latest changes'), feed)));

  const loadSummary = async () => {
    const summary = await api(spacePath(space));
    replace(header, h('h1', {}, space),
      h('p', { class: 'actions' },
        button('Reset to the seed', async () => {
          if (!confirm(`Return ${space} to the seed's state?`)) return;
          await api('/reset', { method: 'POST', json: { space } });
          show();
        }),
        button('Download snapshot', () => downloadSnapshot(space))));
    const kindButton = (kind, n) => h('button', {
      type: 'button', class: `chip${state.kind === kind ? ' current' : ''}`,
      onclick: () => {
        state.kind = kind;
        loadSummary();
        loadResults();
      },
    }, kind ? kindTag(kind) : 'all', ' ', n);
    const total = Object.values(summary.counts.kinds).reduce((a, b) => a + b, 0);
    replace(kinds, kindButton('', total),
      Object.entries(summary.counts.kinds).map(([kind, n]) => kindButton(kind, n)),
      h('span', { class: 'chip static' }, 'edges ', summary.counts.edges),
      h('span', { class: 'chip static', id: 'oldest-change', title: 'older changes went past the retention horizon' },
        summary.oldest_change ? `changes kept since #${summary.oldest_change}` : 'no change kept'));
    return summary;
  };
  const loadResults = () => fill(results, async () => {
    const rows = h('tbody');
    const more = h('p');
    const page = async (token) => {
      const answer = await api(`${spacePath(space)}/entities${query({ kind: state.kind, q: state.q, page: token, limit: PAGE })}`);
      append(rows, answer.entities.map((entity) => entityRow(space, entity)));
      replace(more, answer.next_page ? button('More', () => page(answer.next_page)) : null);
      return answer;
    };
    const first = await page();
    if (!first.entities.length) return h('p', { class: 'muted' }, 'Nothing matches.');
    return [h('table', { class: 'entities' },
      h('thead', {}, h('tr', {}, h('th', {}, 'kind'), h('th', {}, 'key'), h('th', {}, 'name'), h('th', {}, 'created'))),
      rows), more];
  });
  const addToFeed = (changes) => {
    for (const change of changes) {
      feed.prepend(h('li', {},
        h('span', { class: `op ${change.op}` }, change.op.replace('_', ' ')), ' ',
        h('a', { href: entityHref(space, change.subject) }, change.subject.key),
        change.relation ? [' ', h('span', { class: 'rel' }, change.relation), ' '] : ' ',
        change.member ? h('a', { href: entityHref(space, change.member) }, change.member.key) : null,
        h('time', {}, time(change.at))));
    }
    while (feed.children.length > 50) feed.lastChild.remove();
  };

  try {
    const summary = await loadSummary();
    const recent = await api(`/changes${query({ space, after: recentFrom(summary, 20), limit: 20 })}`);
    addToFeed(recent.changes);
    if (!recent.changes.length) feed.append(h('li', { class: 'muted' }, 'No change yet.'));
    await loadResults();
    live.follow(space, summary.last_change, async (changes) => {
      feed.querySelector('.muted')?.remove();
      addToFeed(changes);
      await loadSummary();
      await loadResults();
    });
  } catch (error) {
    if (!(error instanceof SignedOut)) replace(header, failure(error));
  }
}

const button = (text, onclick, attrs = {}) => h('button', {
  type: 'button',
  ...attrs,
  onclick: async (event) => {
    const target = event.currentTarget;
    target.disabled = true;
    try {
      await onclick(event);
    } catch (error) {
      if (!(error instanceof SignedOut)) alert(error.message);
    } finally {
      target.disabled = false;
    }
  },
}, text);

function entityRow(space, entity, extra = []) {
  return h('tr', {},
    h('td', {}, kindTag(entity.kind)),
    h('td', {}, h('a', { href: entityHref(space, entity) }, entity.key)),
    h('td', {}, label(entity)),
    extra,
    h('td', { class: 'muted' }, time(entity.created_at)));
}

async function downloadSnapshot(space) {
  const response = await call(`/snapshot${query({ space })}`);
  if (!response.ok) throw new Error((await response.json()).error);
  const link = h('a', {
    href: URL.createObjectURL(await response.blob()),
    download: `roster-${(space ?? 'all').replace('/', '-')}.jsonl`,
  });
  document.body.append(link);
  link.click();
  link.remove();
}

// ---------------------------------------------------------------------------------------------
// One entity: its attributes, aliases and relations both ways

async function entityView(space, at) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  replace(main(),
    h('p', { class: 'crumbs' },
      h('a', { href: '#/spaces' }, 'Spaces'), ' / ', h('a', { href: spaceHref(space) }, space), ' / ',
      at.kind, ' ', at.key),
    body);
  const load = () => fill(body, async () => {
    const found = await api(`${spacePath(space)}/entity${query(at)}`);
    const { entity } = found;
    return [
      h('div', { class: 'entity-head' },
        h('h1', {}, kindTag(entity.kind), ' ', entity.key, label(entity) ? h('small', {}, ` ${label(entity)}`) : null),
        h('p', { class: 'actions' },
          h('a', { class: 'button', href: graphHref(space, entity, 1), id: 'open-graph' }, 'Graph'),
          h('a', { class: 'button quiet', href: graphHref(space, entity, 2) }, 'Graph, two hops'))),
      h('div', { class: 'split' },
        h('section', { class: 'relations' },
          h('h2', {}, 'Relationships'),
          found.relations.length
            ? found.relations.map((relation) => relationBlock(space, entity, relation))
            : h('p', { class: 'muted' }, 'No edge on either side.')),
        h('aside', {},
          h('h3', {}, 'Ids'),
          h('table', { class: 'aliases' },
            h('tr', {}, h('th', {}, 'key'), h('td', {}, entity.key)),
            entity.owner ? h('tr', {}, h('th', {}, 'owner'), h('td', {}, h('a', { href: entityHref(space, entity.owner) }, `${entity.owner.kind} ${entity.owner.key}`))) : null,
            found.aliases.map((a) => h('tr', {}, h('th', {}, a.namespace), h('td', {}, a.alias)))),
          h('h3', {}, 'Attributes'),
          h('pre', { class: 'json' }, JSON.stringify(entity.attrs, null, 2)),
          h('p', { class: 'muted' }, `created ${time(entity.created_at)}, updated ${time(entity.updated_at)}`))),
    ];
  });
  await load();
  followSpace(space, load);
}

/// Follow the space's changes from now on, calling `refresh` on each batch.
async function followSpace(space, refresh) {
  try {
    const summary = await api(spacePath(space));
    live.follow(space, summary.last_change, refresh);
  } catch (error) {
    if (!(error instanceof SignedOut)) console.warn(error);
  }
}

const SIDES = {
  members: { arrow: '→', says: 'members' },
  memberships: { arrow: '←', says: 'member of' },
};

function relationBlock(space, entity, relation) {
  const rows = h('tbody');
  const more = h('p');
  const section = h('details', {
    class: 'relation', open: true,
    'data-relation': relation.relation, 'data-direction': relation.direction,
  },
  h('summary', {},
    h('span', { class: 'arrow' }, SIDES[relation.direction].arrow), ' ',
    h('strong', {}, relation.relation), ' ', SIDES[relation.direction].says,
    h('span', { class: 'count' }, relation.count)),
  h('table', { class: 'entities' }, rows), more);
  const page = async (token) => {
    const answer = await api(`${spacePath(space)}/edges${query({
      kind: entity.kind, key: entity.key, relation: relation.relation,
      direction: relation.direction, page: token, limit: PAGE,
    })}`);
    append(rows, answer.edges.map((edge) => entityRow(space, edge.entity)));
    replace(more, answer.next_page ? button('More', () => page(answer.next_page)) : null);
  };
  page().catch((error) => replace(more, failure(error)));
  return section;
}

// ---------------------------------------------------------------------------------------------
// The neighbourhood of an entity, laid out in rings by hop

async function graphView(space, at, hops) {
  const canvas = h('div', { class: 'graph' }, h('p', { class: 'muted' }, 'Loading…'));
  replace(main(),
    h('p', { class: 'crumbs' },
      h('a', { href: '#/spaces' }, 'Spaces'), ' / ', h('a', { href: spaceHref(space) }, space), ' / ',
      h('a', { href: entityHref(space, at) }, `${at.kind} ${at.key}`), ' / graph'),
    h('div', { class: 'entity-head' },
      h('h1', {}, 'Neighbourhood of ', at.key),
      h('p', { class: 'actions' },
        [1, 2].map((n) => h('a', {
          class: `button${n === hops ? '' : ' quiet'}`, href: graphHref(space, at, n),
        }, n === 1 ? 'One hop' : 'Two hops')))),
    canvas);
  const load = () => fill(canvas, async () => {
    const graph = await api(`${spacePath(space)}/graph${query({ ...at, hops })}`);
    return drawGraph(space, graph, hops);
  });
  await load();
  followSpace(space, load);
}

function drawGraph(space, graph, hops) {
  const width = 960;
  const height = hops === 2 ? 720 : 560;
  const [cx, cy] = [width / 2, height / 2];
  const rings = hops === 2 ? [0, 150, 300] : [0, 210];
  const position = layout(graph, rings, cx, cy);
  const relations = [...new Set(graph.edges.map((e) => e.relation))];
  const svg = h('svg', {
    id: 'graph', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `${graph.nodes.length} entities and ${graph.edges.length} edges`,
  },
  h('defs', {}, relations.map((relation, i) => h('marker', {
    id: `arrow${i}`, viewBox: '0 0 10 10', refX: 27, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse',
  }, h('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: relationColor(i) })))),
  h('g', { class: 'edges' }, graph.edges.map((edge) => {
    const [from, to] = [position[edge.from], position[edge.to]];
    const i = relations.indexOf(edge.relation);
    return h('line', {
      x1: from.x, y1: from.y, x2: to.x, y2: to.y, stroke: relationColor(i), 'marker-end': `url(#arrow${i})`,
    }, h('title', {}, `${graph.nodes[edge.from].key} —${edge.relation}→ ${graph.nodes[edge.to].key}`));
  })),
  h('g', { class: 'nodes' }, graph.nodes.map((node, i) => h('g', {
    class: `node hop${node.hop}`, tabindex: 0, 'data-key': node.key, 'data-kind': node.kind,
    transform: `translate(${position[i].x} ${position[i].y})`,
    onclick: () => { location.hash = entityHref(space, node); },
    onkeydown: (event) => { if (event.key === 'Enter') location.hash = entityHref(space, node); },
  },
  h('title', {}, `${node.kind} ${node.key}${label(node) ? ` (${label(node)})` : ''}`),
  h('circle', { r: node.hop === 0 ? 24 : 16, fill: kindColor(node.kind) }),
  h('text', { y: node.hop === 0 ? 40 : 30, 'text-anchor': 'middle' }, shorten(label(node) || node.key))))));
  const kinds = [...new Set(graph.nodes.map((n) => n.kind))];
  return [
    h('div', { class: 'legend' },
      kinds.map((kind) => h('span', {}, h('svg', { width: 12, height: 12 }, h('circle', { cx: 6, cy: 6, r: 6, fill: kindColor(kind) })), ' ', kind)),
      relations.map((relation, i) => h('span', {}, h('svg', { width: 18, height: 12 }, h('line', { x1: 0, y1: 6, x2: 18, y2: 6, stroke: relationColor(i) })), ' ', relation)),
      graph.truncated ? h('strong', {}, `capped at ${graph.nodes.length} entities`) : null),
    svg,
  ];
}

const relationColor = (i) => ['#555', '#c2410c', '#1d4ed8', '#15803d', '#7e22ce', '#b91c1c'][i % 6];
const shorten = (text) => (text.length > 16 ? `${text.slice(0, 15)}…` : text);

/// Nodes on rings by hop: the first hop evenly around the centre, each node of the second hop
/// near the first-hop node it was reached through.
function layout(graph, rings, cx, cy) {
  const position = [];
  const angle = [];
  const byHop = (hop) => graph.nodes.map((n, i) => [n, i]).filter(([n]) => n.hop === hop);
  const first = byHop(1);
  position[0] = { x: cx, y: cy };
  first.forEach(([, i], j) => {
    angle[i] = (2 * Math.PI * j) / first.length - Math.PI / 2;
  });
  const parentOf = (i) => {
    for (const edge of graph.edges) {
      const other = edge.from === i ? edge.to : edge.to === i ? edge.from : null;
      if (other !== null && graph.nodes[other].hop === 1) return other;
    }
    return first[0]?.[1];
  };
  const children = new Map();
  for (const [, i] of byHop(2)) {
    const parent = parentOf(i);
    children.set(parent, [...(children.get(parent) ?? []), i]);
  }
  const slot = (2 * Math.PI) / Math.max(first.length, 1);
  for (const [parent, kids] of children) {
    kids.forEach((i, j) => {
      angle[i] = (angle[parent] ?? 0) + slot * ((j + 0.5) / kids.length - 0.5) * 0.9;
    });
  }
  graph.nodes.forEach((node, i) => {
    if (node.hop === 0) return;
    const radius = rings[node.hop];
    position[i] = { x: cx + radius * Math.cos(angle[i]), y: cy + radius * Math.sin(angle[i]) };
  });
  return position;
}

// ---------------------------------------------------------------------------------------------
// Activity: the request journal, callback deliveries, fault rules, reset and snapshots

const TABS = {
  requests: ['Requests', requestsTab],
  deliveries: ['Deliveries', deliveriesTab],
  faults: ['Faults', faultsTab],
  state: ['Reset & snapshots', stateTab],
};

async function activityView(tab) {
  const [, build] = TABS[tab] ?? TABS.requests;
  const body = h('div');
  replace(main(),
    h('h1', {}, 'Activity'),
    h('nav', { class: 'tabs' }, Object.entries(TABS).map(([name, [title]]) =>
      h('a', { href: `#/activity/${name}`, class: name === tab ? 'current' : null }, title))),
    body);
  await build(body);
}

function requestsTab(body) {
  const field = (name, placeholder) => h('input', { name, placeholder, 'aria-label': name });
  const dialect = h('select', { name: 'dialect', 'aria-label': 'dialect' },
    ['', 'feishu', 'tim', 'wecom', 'qwif'].map((d) => h('option', { value: d }, d || 'any dialect')));
  const [space, path, code] = [field('space', 'space (wecom/…)'), field('path', 'path contains'), field('code', 'vendor code')];
  const list = h('div');
  const detail = h('div', { class: 'detail' });
  const load = () => fill(list, async () => {
    const rows = h('tbody');
    const more = h('p');
    const page = async (before) => {
      const answer = await api(`/requests${query({
        dialect: dialect.value, space: space.value.trim(), path: path.value.trim(), code: code.value.trim(), before, limit: 50,
      })}`);
      append(rows, answer.requests.map((entry) => h('tr', {
        class: `clickable${entry.status >= 400 || (entry.vendor_code ?? 0) != 0 ? ' failed' : ''}`,
        onclick: () => replace(detail, requestDetail(entry)),
      },
      h('td', { class: 'muted' }, new Date(entry.time_ms).toLocaleTimeString()),
      h('td', {}, entry.dialect), h('td', {}, entry.space ?? ''),
      h('td', {}, entry.method, ' ', entry.path), h('td', {}, entry.status),
      h('td', {}, entry.vendor_code ?? ''), h('td', { class: 'muted' }, `${entry.latency_ms.toFixed(1)} ms`),
      h('td', {}, entry.fault ? `fault ${entry.fault}` : ''))));
      replace(more, answer.next ? button('Older', () => page(answer.next)) : null);
      return answer;
    };
    const first = await page();
    if (!first.requests.length) return h('p', { class: 'muted' }, 'No request matches.');
    return [h('table', {},
      h('thead', {}, h('tr', {}, ['time', 'dialect', 'space', 'request', 'status', 'code', 'latency', ''].map((t) => h('th', {}, t)))),
      rows), more];
  });
  const form = h('form', {
    class: 'filters',
    onsubmit: (event) => {
      event.preventDefault();
      load();
    },
  }, dialect, space, path, code, h('button', { type: 'submit' }, 'Filter'),
  button('Clear journal', async () => {
    await api('/requests', { method: 'DELETE' });
    await load();
  }, { class: 'quiet' }));
  replace(body, form, h('div', { class: 'split' }, h('section', {}, list), h('aside', {}, detail)));
  return load();
}

function requestDetail(entry) {
  const bodyBlock = (title, kept) => [
    h('h3', {}, title, kept.truncated_from ? h('small', {}, ` (first bytes of ${kept.truncated_from})`) : null),
    h('pre', { class: 'json' }, kept.text ? pretty(kept.text) : '(empty)'),
  ];
  return [
    h('h2', {}, entry.method, ' ', entry.path),
    h('p', { class: 'muted' }, entry.query ? `?${entry.query}` : '', entry.log_id ? ` log id ${entry.log_id}` : ''),
    h('table', { class: 'aliases' }, entry.request_headers.map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value)))),
    bodyBlock('Request body', entry.request_body),
    bodyBlock(`Response ${entry.status}`, entry.response_body),
  ];
}

function deliveriesTab(body) {
  const detail = h('div', { class: 'detail' });
  const list = h('div');
  const load = () => fill(list, async () => {
    // Oldest first from the start; the newest shown first.
    let after = 0;
    let all = [];
    for (;;) {
      const page = await api(`/deliveries${query({ after, limit: 1000 })}`);
      all = all.concat(page.deliveries);
      if (page.deliveries.length < 1000) break;
      after = page.next;
    }
    if (!all.length) return h('p', { class: 'muted' }, 'No callback was sent yet.');
    return h('table', {},
      h('thead', {}, h('tr', {}, ['id', 'event', 'url', 'attempt', 'status', 'when', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, all.reverse().map((d) => h('tr', {
        class: `clickable${d.error || !(d.status >= 200 && d.status < 300) ? ' failed' : ''}`,
        onclick: () => replace(detail, deliveryDetail(d)),
      },
      h('td', {}, d.id), h('td', {}, d.event), h('td', {}, d.url), h('td', {}, d.attempt),
      h('td', {}, d.status ?? d.error ?? ''), h('td', { class: 'muted' }, time(d.at)),
      h('td', {}, button('Redeliver', async (event) => {
        event.stopPropagation();
        const { delivery } = await api(`/deliveries/${d.id}/redeliver`, { method: 'POST' });
        await load();
        replace(detail, deliveryDetail(delivery));
      }))))));
  });
  replace(body, h('p', {}, button('Refresh', () => load())), h('div', { class: 'split' }, h('section', {}, list), h('aside', {}, detail)));
  return load();
}

function deliveryDetail(d) {
  return [
    h('h2', {}, `Delivery ${d.id}: ${d.event}`),
    h('p', { class: 'muted' }, `attempt ${d.attempt} to ${d.url} at ${time(d.at)}`),
    d.error ? h('p', { class: 'error' }, d.error) : null,
    h('h3', {}, 'Request'),
    h('table', { class: 'aliases' }, d.headers.map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value)))),
    h('pre', { class: 'json' }, pretty(d.request)),
    h('h3', {}, `Response ${d.status ?? ''}`),
    h('pre', { class: 'json' }, d.response ? pretty(d.response) : '(empty)'),
  ];
}

function faultsTab(body) {
  const list = h('div');
  const rule = h('textarea', {
    name: 'rule', rows: 4, 'aria-label': 'fault rule',
    placeholder: '{"dialect":"wecom","route":"/cgi-bin/tag/addtagusers","error":{"errcode":-1,"errmsg":"system busy"},"count":1}',
  });
  const message = h('p', { class: 'error', role: 'alert' });
  const load = () => fill(list, async () => {
    const { faults } = await api('/faults');
    if (!faults.length) return h('p', { class: 'muted' }, 'No fault rule: every request runs.');
    return h('table', {}, h('tbody', {}, faults.map((f) => {
      const { id, ...spec } = f;
      return h('tr', {}, h('td', {}, id), h('td', {}, h('code', {}, JSON.stringify(spec))),
        h('td', {}, button('Remove', async () => {
          await api(`/faults/${id}`, { method: 'DELETE' });
          await load();
        })));
    })));
  });
  const form = h('form', {
    class: 'fault',
    onsubmit: async (event) => {
      event.preventDefault();
      message.textContent = '';
      try {
        await api('/faults', { method: 'POST', body: rule.value });
        rule.value = '';
        await load();
      } catch (error) {
        if (!(error instanceof SignedOut)) message.textContent = error.message;
      }
    },
  }, h('h3', {}, 'Add a rule'), rule, h('button', { type: 'submit' }, 'Add'), message);
  replace(body, list, form);
  return load();
}

function stateTab(body) {
  const message = h('p', { role: 'status' });
  const file = h('input', { type: 'file', accept: '.jsonl,application/x-ndjson', 'aria-label': 'snapshot file' });
  replace(body,
    h('section', { class: 'card' },
      h('h2', {}, 'Reset'),
      h('p', {}, 'Every space the seed declares goes back to the seed’s state; what the APIs made is gone.'),
      button('Reset every space', async () => {
        if (!confirm('Return every space of the seed to its state?')) return;
        const { reset } = await api('/reset', { method: 'POST' });
        message.textContent = `Reset: ${reset.join(', ')}`;
      })),
    h('section', { class: 'card' },
      h('h2', {}, 'Snapshots'),
      h('p', {}, button('Download a snapshot of every space', () => downloadSnapshot())),
      h('p', {}, file, button('Load it', async () => {
        if (!file.files.length) throw new Error('Choose a snapshot file first.');
        if (!confirm('Replace the spaces this file holds with its contents?')) return;
        const { loaded } = await api('/snapshot', { method: 'POST', body: file.files[0] });
        message.textContent = `Loaded: ${loaded.join(', ')}`;
      }))),
    message);
}

// ---------------------------------------------------------------------------------------------

document.getElementById('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN);
  location.hash = '';
  show();
});
window.addEventListener('hashchange', show);
show();
