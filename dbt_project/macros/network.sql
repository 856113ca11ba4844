{#-
  管网可达性：全项目唯一的管网遍历。所有向上游/向下游的追踪（定向、检查井→厂、检查井→排放口、上游许可水量、
  环路、断头）都调用它，只是起点和边不同。
  The one network walk. Every trace (orientation, manhole → plant, manhole → outlet, permitted load
  upstream, cycles, dead ends) calls reachable() with its own start nodes and edges.

  reachable(origins, edges) returns a subquery of (origin_id, node_id): every node reachable from an
  origin's start node by following edges from_id → to_id, the start node included, each pair once.
    origins: SQL yielding (origin_id, node_id)      -- node_id is where that origin's walk starts
    edges:   SQL yielding (from_id, to_id)          -- walk upstream by passing (downstream, upstream)
  Both may name CTEs of the calling model.

  Portability (ROADMAP: DuckLake, then Spark/Trino). The walk is behind adapter.dispatch:
  - default__ (DuckDB, PostgreSQL): a recursive CTE with UNION. UNION de-duplicates every produced
    (origin, node) pair against all pairs so far, so a cycle ends the walk: set-based, no depth limit,
    linear in the pairs actually produced.
  - Engines without that (Spark: recursive CTEs with UNION ALL only; Trino: recursion depth 10) get the
    same contract from a bounded iterative closure: start with the origins, then repeat
    `frontier = (frontier ⋈ edges) − result; result = result ∪ frontier` until the frontier is empty or a
    bound (a var such as network_max_depth, added with that implementation) is reached; an incremental
    (`insert`) materialisation or a Python model does the loop. A walk that hits the bound must fail loudly,
    never truncate: the callers' results (plants, loads) would otherwise be silently incomplete. Only that
    engine's `<adapter>__reachable` is to be written; no model changes.
-#}
{% macro reachable(origins, edges) -%}
    {{ return(adapter.dispatch('reachable', 'sewershare')(origins, edges)) }}
{%- endmacro %}

{% macro default__reachable(origins, edges) -%}
(
    with recursive reach_edges as (
        select from_id, to_id from ({{ edges }}) as e
    ),

    walk (origin_id, node_id) as (
        select origin_id, node_id from ({{ origins }}) as o
        union
        select w.origin_id, e.to_id
        from walk as w
        inner join reach_edges as e on e.from_id = w.node_id
    )

    select origin_id, node_id from walk
)
{%- endmacro %}
