"""The sewage network of one district: trees of manholes draining to the district's plants.

Each plant's catchment is one tree whose root is the plant's inlet manhole (进厂检查井). A tree
grows in levels of street runs: one or two trunks leave the plant, laterals branch off at right
angles from the nodes of the level before, and so on, until the tree has its share of the
district's segments. Nodes are numbered so that a parent always precedes its children, and each
non-root node owns the segment that leaves it (upstream node → downstream node), so tracing from
any segment reaches the plant.

Calibrated on ../shared/realdata/chaohu-swmm (a Chinese sewer model, see calibration.py):
segment lengths (lognormal, median 31 m, 10–90% ≈ 23–46 m) and box culverts among the trunks.
Assumptions: diameters follow the number of upstream segments; slopes follow the minimum design
slope of GB 50014 for the diameter (×1–2); manhole cover 0.7–1.5 m; plant inlets 5–7 m deep.
Tree accumulations (subtree sizes, inverts along paths) are vectorised by pointer jumping.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.sample import calibration as cal
from pipelines.sample.places import AS_OF, District


@dataclass
class Network:
    """Nodes 0..N-1 (manholes); segment k belongs to non-root node ``seg_node[k]``."""
    district: District
    # nodes
    x: np.ndarray                # EPSG:4549 easting (m)
    y: np.ndarray                # northing (m)
    parent: np.ndarray           # downstream node, -1 at a plant inlet
    tree: np.ndarray             # index of the district plant the node drains to
    level: np.ndarray            # 0 = trunk
    run: np.ndarray              # street run id (district-wide), -1 for roots
    ground: np.ndarray           # ground elevation (m)
    bottom: np.ndarray           # manhole bottom elevation (m)
    node_type: np.ndarray        # label of census_manholes.manhole_type (Chinese key)
    n_children: np.ndarray
    # segments (one per non-root node)
    seg_node: np.ndarray         # upstream node
    seg_down: np.ndarray         # downstream node
    length: np.ndarray           # 2-D length (m)
    diameter: np.ndarray         # mm (0 for box culverts)
    box_w: np.ndarray            # mm (0 for round pipes)
    box_h: np.ndarray
    start_invert: np.ndarray
    end_invert: np.ndarray
    year: np.ndarray             # true install year (the census may not know it)
    material: np.ndarray         # material code (RC, HDPE…)
    category: np.ndarray         # "sewage" / "combined"
    industrial: np.ndarray       # bool: industrial park scope
    upstream: np.ndarray         # upstream segment count (drives the diameter)

    @property
    def n_nodes(self) -> int:
        return len(self.x)

    @property
    def n_segments(self) -> int:
        return len(self.seg_node)

    @property
    def roots(self) -> np.ndarray:
        return np.flatnonzero(self.parent < 0)


def _group_cumsum(values: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each True of ``group_start`` (values sorted by group)."""
    cs = np.cumsum(values)
    starts = np.flatnonzero(group_start)
    offsets = np.repeat(cs[starts] - values[starts], np.diff(np.append(starts, len(values))))
    return cs - offsets


def grow_tree(rng: np.random.Generator, n_nodes: int, x0: float, y0: float, heading: float):
    """Parent, coordinates, level, run and run heading of a tree of ``n_nodes`` nodes rooted at
    (x0, y0). The trunk heads along ``heading`` (radians)."""
    parent = [np.array([-1])]
    xs, ys = [np.array([x0])], [np.array([y0])]
    levels, runs, angles = [np.array([0])], [np.array([-1])], [np.array([heading])]
    total, level, run_base = 1, 0, 0
    frontier = np.array([0])
    trunk_nodes = int(np.clip(1.2 * np.sqrt(n_nodes), 3, 150))
    while total < n_nodes:
        if level == 0:
            two = n_nodes > 60
            junction = np.zeros(2 if two else 1, dtype=np.int64)
            run_angle = np.array([heading, heading + np.pi + rng.normal(0, 0.5)])[: len(junction)]
            lengths = np.array([trunk_nodes, max(2, int(trunk_nodes * 0.6))])[: len(junction)]
        else:
            p_side = cal.LATERAL_PROB_PER_SIDE
            left = rng.random(len(frontier)) < p_side
            right = rng.random(len(frontier)) < p_side
            junction = np.concatenate([frontier[left], frontier[right]])
            side = np.concatenate([np.ones(left.sum()), -np.ones(right.sum())])
            if len(junction) == 0:
                junction = rng.choice(frontier, size=1)
                side = np.ones(1)
            all_angles = np.concatenate(angles)
            run_angle = all_angles[junction] + side * np.pi / 2 + rng.normal(0, 0.15, len(junction))
            mean_len = cal.RUN_NODES_LEVEL1 if level == 1 else cal.RUN_NODES_DEEPER
            lengths = 1 + rng.poisson(mean_len - 1, len(junction))
        perm = rng.permutation(len(junction))        # truncation then cuts random runs, not one area
        junction, run_angle, lengths = junction[perm], run_angle[perm], lengths[perm]
        n_new = int(lengths.sum())
        run_local = np.repeat(np.arange(len(junction)), lengths)
        first = np.zeros(n_new, dtype=bool)
        first[np.concatenate([[0], np.cumsum(lengths)[:-1]])] = True
        step = np.clip(rng.lognormal(np.log(cal.SEGMENT_LENGTH_MEDIAN_M), cal.SEGMENT_LENGTH_SIGMA, n_new),
                       cal.SEGMENT_LENGTH_MIN_M, cal.SEGMENT_LENGTH_MAX_M)
        wiggle = _group_cumsum(rng.normal(0, 0.04, n_new), first)
        ang = run_angle[run_local] + wiggle
        all_x, all_y = np.concatenate(xs), np.concatenate(ys)
        jx, jy = all_x[junction][run_local], all_y[junction][run_local]
        nx = jx + _group_cumsum(step * np.cos(ang), first)
        ny = jy + _group_cumsum(step * np.sin(ang), first)
        idx = total + np.arange(n_new)
        par = np.where(first, junction[run_local], idx - 1)
        parent.append(par)
        xs.append(nx)
        ys.append(ny)
        levels.append(np.full(n_new, level))
        runs.append(run_base + run_local)
        angles.append(ang)
        run_base += len(junction)
        total += n_new
        frontier = idx
        level += 1
    cut = slice(0, n_nodes)
    return (np.concatenate(parent)[cut], np.concatenate(xs)[cut], np.concatenate(ys)[cut],
            np.concatenate(levels)[cut], np.concatenate(runs)[cut])


def path_sum(parent: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Sum of ``own`` over each node and all its ancestors (pointer jumping, parents first)."""
    acc = own.astype(float).copy()
    anc = parent.copy()
    while (anc >= 0).any():
        has = anc >= 0
        acc = acc + np.where(has, acc[np.maximum(anc, 0)], 0.0)
        anc = np.where(has, anc[np.maximum(anc, 0)], -1)
    return acc


def subtree_sizes(parent: np.ndarray) -> np.ndarray:
    """Number of nodes in each node's subtree (itself included)."""
    n = len(parent)
    size = np.ones(n, dtype=np.int64)
    cur = parent.copy()
    while (cur >= 0).any():
        has = cur >= 0
        size += np.bincount(cur[has], minlength=n)
        cur = np.where(has, parent[np.maximum(cur, 0)], -1)
    return size


def build(rng: np.random.Generator, district: District, n_segments: int, plants: list[dict],
          to_xy) -> Network:
    """The district's network: ``n_segments`` segments split over the district's plants by
    capacity. ``plants`` carry ``x``/``y`` (their inlet, EPSG:4549) and ``capacity``."""
    caps = np.array([p["capacity"] for p in plants], dtype=float)
    sizes = np.maximum(np.floor(n_segments * caps / caps.sum()).astype(int), 2)
    sizes[0] += n_segments - sizes.sum()
    cx, cy = to_xy(district.lon, district.lat)
    parts = []
    base = 0
    run_base = 0
    for t, (plant, size) in enumerate(zip(plants, sizes)):
        heading = np.arctan2(cy - plant["y"], cx - plant["x"]) + rng.normal(0, 0.3)
        par, x, y, lev, run = grow_tree(rng, int(size) + 1, plant["x"], plant["y"], heading)
        par = np.where(par >= 0, par + base, -1)
        run = np.where(run >= 0, run + run_base, -1)
        run_base = int(run.max()) + 1 if (run >= 0).any() else run_base
        parts.append((par, x, y, lev, run, np.full(len(x), t)))
        base += len(x)
    parent, x, y, level, run, tree = (np.concatenate(c) for c in zip(*parts))
    n = len(parent)
    non_root = parent >= 0
    seg_node = np.flatnonzero(non_root)
    seg_down = parent[seg_node]
    length = np.hypot(x[seg_node] - x[seg_down], y[seg_node] - y[seg_down])
    size = subtree_sizes(parent)
    upstream = size[seg_node]                     # segments draining through this one (itself incl.)
    diameter = cal.diameter_for_upstream(upstream)
    n_runs = int(run.max()) + 1

    # Industrial parks: whole level-1 branches (and everything upstream of them) belong to a park.
    run_level = np.zeros(n_runs, dtype=int)
    run_level[run[seg_node]] = level[seg_node]
    firsts = seg_node[level[seg_node] != level[seg_down]]     # first node of each lateral run
    run_parent = np.full(n_runs, -1)
    run_parent[run[firsts]] = run[parent[firsts]]
    run_branch = np.where(run_level == 1, np.arange(n_runs), -1)
    for lev in range(2, int(level.max()) + 1):
        at = run_level == lev
        run_branch[at] = run_branch[np.maximum(run_parent[at], 0)]
    branch = np.where(run >= 0, run_branch[np.maximum(run, 0)], -1)
    # whole branches, in random order, until the district's park share of segments is reached
    branch_size = np.bincount(branch[branch >= 0], minlength=n_runs)
    order = rng.permutation(n_runs)
    cum = np.cumsum(branch_size[order]) / max(n - len(plants), 1)
    run_industrial = np.zeros(n_runs, dtype=bool)
    run_industrial[order[: int(np.searchsorted(cum, district.industrial_share)) + 1]] = True
    run_industrial &= branch_size > 0
    industrial_node = np.where(branch >= 0, run_industrial[np.maximum(branch, 0)], False)
    # an industrial plant's whole catchment is a park
    industrial_tree = np.array([bool(p["industrial"]) for p in plants])
    industrial_node |= industrial_tree[tree]
    industrial = industrial_node[seg_node]

    # Install years: one per street run; the core (trunks, first laterals) is older, outskirts and
    # parks newer.
    span = AS_OF.year - 1 - district.oldest_year
    run_year = district.oldest_year + span * rng.beta(1.6 + 0.5 * run_level, 1.4, n_runs)
    run_ind = np.zeros(n_runs, dtype=bool)
    run_ind[run[seg_node]] = industrial
    run_year = np.where(run_ind, np.maximum(run_year, 2003 + rng.random(n_runs) * 18), run_year)
    year = np.round(run_year[run[seg_node]] + rng.normal(0, 0.6, len(seg_node))).astype(int)
    year = np.clip(year, 1960, AS_OF.year)

    material = cal.materials(rng, year, diameter)
    # old trunks (and old large sewers) are often brick or concrete box culverts, B×H in mm
    old_trunk = ((level[seg_node] == 0) | (diameter >= 800)) & (year < 2002)
    seg_run = run[seg_node]
    box = old_trunk & (rng.random(n_runs) < cal.BOX_CULVERT_SHARE_OLD_TRUNK)[seg_run]   # whole streets
    box_w = np.where(box, np.maximum(diameter, 800) + 100 * rng.integers(0, 3, n_runs)[seg_run], 0)
    box_h = np.where(box, box_w - 100 * rng.integers(1, 4, n_runs)[seg_run], 0)
    material = np.where(box, np.where(rng.random(len(seg_node)) < 0.25, "BRICK", "RC"), material)
    diameter = np.where(box, 0, diameter)
    combined = (~industrial) & (year < 2000) & (rng.random(len(seg_node)) < district.combined_share)
    category = np.where(combined, "combined", "sewage")

    # Inverts: each segment falls towards its downstream node; laterals join above the trunk.
    size_mm = np.where(box, box_h, diameter)
    slope = cal.min_slope(size_mm) * rng.uniform(1.0, 2.0, len(seg_node))
    parent_size = np.zeros(n)
    parent_size[seg_node] = size_mm
    is_junction_join = level[seg_node] != level[seg_down]
    down_size = parent_size[seg_down]
    join_drop = np.where(is_junction_join, np.maximum(down_size - size_mm, 0) / 1000 + rng.uniform(0.02, 0.3,
                                                                                                 len(seg_node)), 0)
    drop_manhole = is_junction_join & (rng.random(len(seg_node)) < 0.03)
    join_drop = join_drop + np.where(drop_manhole, rng.uniform(0.8, 2.0, len(seg_node)), 0)
    own = np.zeros(n)
    own[seg_node] = join_drop + slope * length
    terrain = (district.ground_m + 1.2 * np.sin(x / 1700.0 + district.lon) * np.cos(y / 2300.0)
               + rng.normal(0, 0.08, n))
    root_depth = rng.uniform(5.0, 7.0, n)
    root_bottom = np.where(parent < 0, terrain - root_depth, 0.0)
    # the root's bottom propagates to every node of its tree through path_sum
    out_inv = path_sum(parent, own + root_bottom)
    start_invert = out_inv[seg_node]
    end_invert = start_invert - slope * length
    cover = rng.uniform(0.7, 1.5, n)
    crown = np.zeros(n)
    crown[seg_node] = size_mm / 1000
    ground = np.maximum(terrain, out_inv + crown + cover)
    ground = np.where(parent < 0, terrain, ground)
    bottom = np.where(parent < 0, root_bottom, out_inv)

    n_children = np.bincount(seg_down, minlength=n)
    node_type = np.full(n, "检查井", dtype=object)
    node_type[rng.random(n) < 0.35] = "污水井"
    leaf = n_children == 0
    node_type[leaf & (rng.random(n) < 0.45)] = "接户井"
    node_type[(~leaf) & (rng.random(n) < 0.03)] = "沉泥井"
    drop_nodes = seg_down[drop_manhole]
    node_type[drop_nodes] = "跌水井"
    # a pump station every ~3 km along the trunks
    trunk = (level == 0) & (parent >= 0)
    node_type[trunk & (rng.random(n) < 0.01)] = "泵站"
    node_type[parent < 0] = "进厂井"

    return Network(
        district=district, x=x, y=y, parent=parent, tree=tree, level=level, run=run, ground=ground,
        bottom=bottom, node_type=node_type, n_children=n_children, seg_node=seg_node, seg_down=seg_down,
        length=length, diameter=diameter, box_w=box_w, box_h=box_h, start_invert=start_invert,
        end_invert=end_invert, year=year, material=material, category=category, industrial=industrial,
        upstream=upstream,
    )
