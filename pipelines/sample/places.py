"""Reference facts the sample is built on: the districts, the plants, names.

Everything here is fixed (not random): the random parts of the sample are drawn from these
with the seed. District centroids are the county seats' approximate positions; the
per-district numbers (share of the network, inspection coverage, how old the network is,
which file format and encoding the district exports) are assumptions of the sample, chosen so
that the plan's KPIs come out "on track" in some districts and "behind" in others.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The sample's reporting date: the city-year of monitoring ends here, files are dated up to it.
AS_OF = dt.date(2025, 6, 30)
# Project-local code of 台州湾新区 (no GB/T 2260 code; sources/reference/districts.csv).
BAY_AREA_CODE = "331099"


@dataclass(frozen=True)
class District:
    code: str
    name: str                 # official name, as in districts.csv
    short: str                # the short alias (椒江)
    weight: float             # share of the city's sewer network (sums to 1)
    lon: float                # county seat (EPSG:4490)
    lat: float
    ground_m: float           # typical ground elevation of the built-up area
    census_crs: str           # CRS the district's census is exported in
    census_container: str     # "geojson" or "shapefile" (zipped)
    crs_member: bool          # GeoJSON carries a "crs" member (False: lon/lat with no crs, CGCS2000 implied)
    encoding: str             # text encoding of the district's CSV exports
    coverage: float           # share of network length inspected by AS_OF (target: 60% by 2024, 100% by 2025)
    upgrade_done: float       # share of problem segments in completed/accepted projects (target 70% by 2025)
    industrial_share: float   # share of the network in industrial parks (工业园区 scope)
    oldest_year: int          # network age profile: oldest install year of the core
    combined_share: float     # share of old core pipes that are combined sewers (合流)
    soft_soil: float          # share of pipes in 淤泥质土 / 淤泥 (coastal plain)


DISTRICTS: tuple[District, ...] = (
    District("331002", "椒江区", "椒江", 0.14, 121.43, 28.67, 3.5, "EPSG:4549", "geojson", True, "utf-8",
             0.93, 0.82, 0.12, 1978, 0.35, 0.45),
    District("331003", "黄岩区", "黄岩", 0.10, 121.26, 28.65, 5.0, "EPSG:4490", "geojson", True, "gbk",
             0.71, 0.66, 0.15, 1980, 0.30, 0.25),
    District("331004", "路桥区", "路桥", 0.11, 121.37, 28.58, 3.0, "EPSG:4549", "geojson", True, "utf-8-sig",
             0.86, 0.74, 0.18, 1985, 0.20, 0.40),
    District("331022", "三门县", "三门", 0.05, 121.39, 29.10, 6.0, "EPSG:4490", "geojson", False, "gbk",
             0.37, 0.35, 0.10, 1990, 0.10, 0.35),
    District("331023", "天台县", "天台", 0.06, 121.01, 29.14, 110.0, "EPSG:4490", "geojson", True, "utf-8",
             0.52, 0.58, 0.08, 1988, 0.15, 0.05),
    District("331024", "仙居县", "仙居", 0.05, 120.73, 28.85, 65.0, "EPSG:4549", "shapefile", True, "utf-8-sig",
             0.44, 0.41, 0.08, 1990, 0.15, 0.05),
    District("331081", "温岭市", "温岭", 0.16, 121.38, 28.37, 4.0, "EPSG:4549", "geojson", True, "gbk",
             0.66, 0.71, 0.16, 1982, 0.25, 0.40),
    District("331082", "临海市", "临海", 0.14, 121.14, 28.86, 8.0, "EPSG:4490", "geojson", True, "utf-8-sig",
             0.61, 0.63, 0.12, 1975, 0.40, 0.20),
    District("331083", "玉环市", "玉环", 0.09, 121.23, 28.13, 4.0, "EPSG:4549", "geojson", True, "utf-8",
             0.58, 0.55, 0.14, 1988, 0.15, 0.45),
    District(BAY_AREA_CODE, "台州湾新区", "台州湾新区", 0.10, 121.49, 28.60, 2.5, "EPSG:4549", "geojson", True,
             "gbk", 0.82, 0.78, 0.75, 2008, 0.0, 0.55),
)
DISTRICT_BY_CODE = {d.code: d for d in DISTRICTS}

# Older data and older credit codes of 玉环 use 331021 玉环县 (before 2017).
YUHUAN_OLD_CODE, YUHUAN_OLD_NAME = "331021", "玉环县"

# Plants: the first ten are one per district (every district drains to its own plant at any scale),
# the rest follow in this order as the scale grows. (name, district, capacity 万m³/d)
PLANT_CATALOGUE: tuple[tuple[str, str, float], ...] = (
    ("台州市中心污水处理厂", "331002", 20.0),
    ("黄岩区江北污水处理厂", "331003", 10.0),
    ("路桥区滨海污水处理厂", "331004", 12.0),
    ("三门县城市污水处理厂", "331022", 4.0),
    ("天台县城市污水处理厂", "331023", 5.0),
    ("仙居县污水处理厂", "331024", 4.0),
    ("温岭市东部污水处理厂", "331081", 15.0),
    ("临海市城市污水处理厂", "331082", 12.0),
    ("玉环市城市污水处理厂", "331083", 8.0),
    ("台州湾新区工业废水处理厂", BAY_AREA_CODE, 6.0),
    ("温岭市太平污水处理厂", "331081", 6.0),
    ("椒江区章安污水处理厂", "331002", 5.0),
    ("临海市杜桥污水处理厂", "331082", 5.0),
    ("台州湾新区污水处理厂", BAY_AREA_CODE, 5.0),
    ("黄岩区院桥污水处理厂", "331003", 3.0),
    ("路桥区金清污水处理厂", "331004", 4.0),
    ("温岭市泽国污水处理厂", "331081", 5.0),
    ("玉环市滨港工业城污水处理厂", "331083", 3.0),
    ("天台县平桥污水处理厂", "331023", 1.5),
    ("椒江区前所污水处理厂", "331002", 3.0),
    ("临海市头门港新区污水处理厂", "331082", 4.0),
    ("温岭市东部新区工业污水处理厂", "331081", 3.0),
    ("三门县健跳污水处理厂", "331022", 1.0),
    ("仙居县白塔污水处理厂", "331024", 1.0),
    ("台州湾新区三甲污水处理厂", BAY_AREA_CODE, 3.0),
    ("路桥区蓬街污水处理厂", "331004", 2.0),
    ("黄岩区头陀污水处理厂", "331003", 1.0),
    ("温岭市大溪污水处理厂", "331081", 3.0),
    ("椒江区三甲污水处理厂", "331002", 2.0),
    ("临海市东塍污水处理厂", "331082", 1.5),
    ("玉环市楚门污水处理厂", "331083", 2.0),
    ("台州湾新区海虹污水处理厂", BAY_AREA_CODE, 2.0),
    ("温岭市松门污水处理厂", "331081", 2.0),
    ("路桥区峰江工业园区污水处理厂", "331004", 2.0),
    ("天台县白鹤污水处理厂", "331023", 0.5),
    ("椒江区下陈污水处理厂", "331002", 1.5),
    ("黄岩区宁溪污水处理厂", "331003", 0.5),
    ("临海市白水洋污水处理厂", "331082", 0.5),
    ("温岭市箬横污水处理厂", "331081", 1.5),
    ("台州湾新区滨海工业区污水处理厂", BAY_AREA_CODE, 2.0),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任沈姚卢"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀英", "霞", "平", "刚", "桂英", "建华", "海燕", "志强", "晓东", "国平", "丽华", "建军", "文斌", "海波",
         "小红", "永明", "春华", "玉兰", "金龙", "卫东", "林峰", "佳怡", "子涵")
ROAD_STEMS = ("解放", "中山", "东海", "市府", "开发", "学院", "工人", "青年", "人民", "环城", "海门", "白云",
              "葭沚", "府前", "文化", "建设", "东环", "西环", "南苑", "北城", "康平", "商城", "滨海", "新华",
              "劳动", "机场", "云湖", "洪家", "横街", "前进", "江滨", "椒新", "长江", "黄海", "双水", "天和",
              "明珠", "凤凰", "太平", "锦屏", "广场", "兴业", "创业", "科技", "金融", "振兴", "北京", "上海")
ROAD_SUFFIXES = ("路", "路", "路", "大道", "街", "巷", "东路", "西路", "南路", "北路")
BRAND_WORDS = ("鑫达", "华盛", "永兴", "恒通", "金源", "宏远", "瑞丰", "海川", "东方", "天成", "汇丰", "佳美",
               "新世纪", "明辉", "凯旋", "盛泰", "长城", "顺发", "万达", "润泽", "和美", "德胜", "荣华", "兴旺",
               "福临", "利民", "鸿运", "远航", "腾飞", "安达", "鼎盛", "伟业", "康泰", "华联", "中信", "金海")
# (holder_type label, name suffixes, share of drainage-permit holders, permitted volume m³/d median)
HOLDER_TYPES = (
    ("餐饮", ("餐饮店", "大酒店", "小吃店", "面馆", "火锅店", "饭店"), 0.34, 8.0),
    ("工业企业", ("机械有限公司", "塑业有限公司", "汽车零部件有限公司", "制药有限公司", "阀门有限公司",
              "电镀有限公司", "食品有限公司", "化工有限公司"), 0.15, 60.0),
    ("洗车", ("汽车美容服务部", "洗车行", "汽车服务有限公司"), 0.08, 5.0),
    ("宾馆", ("宾馆", "酒店管理有限公司", "大饭店"), 0.06, 25.0),
    ("医疗", ("诊所", "医院", "口腔门诊部", "社区卫生服务中心"), 0.04, 15.0),
    ("建筑施工", ("建设工程有限公司", "建筑工程有限公司"), 0.08, 20.0),
    ("农贸市场", ("农贸市场", "菜市场"), 0.02, 30.0),
    ("个体工商户", ("小吃店", "理发店", "洗衣店", "水果店", "早餐店"), 0.13, 2.0),
    ("其他", ("物业管理有限公司", "学校", "商贸有限公司"), 0.10, 10.0),
)
INDUSTRIES = ("化学原料和化学制品制造业", "医药制造业", "金属制品业", "汽车制造业", "通用设备制造业",
              "橡胶和塑料制品业", "纺织业", "农副食品加工业", "食品制造业", "电气机械和器材制造业",
              "金属表面处理及热处理加工", "皮革、毛皮、羽毛及其制品和制鞋业")
INSPECTION_COMPANIES = ("浙江华东管网检测技术有限公司", "台州市市政管道检测有限公司", "杭州管联科技有限公司",
                        "上海市政管道检测工程有限公司", "浙江中测管道技术有限公司")
