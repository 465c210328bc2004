"""Parallel Vietnamese / English / Japanese phrases the data set is written from.

Every text is drawn from these lists with a seeded random generator, in the three languages at
once, so that an entry's translations say the same thing and common words ("mật ong", "honey",
"はちみつ") appear in a known share of the entries. Lengths follow what coordinators write: a
product has a name and a few sentences, a policy a summary and a long body, an experience a body
and its lessons.
"""

from babel import Locale

LANGS = ("vi", "en", "ja")

# The common word the search figures look for, in each language (about one product in six
# mentions it, and "wild honey" products have it in their name).
SEARCH_WORDS = {"vi": "mật ong", "en": "honey", "ja": "はちみつ"}

# (vi, en, ja) product names by OCOP product group.
PRODUCTS = {
    "food": [
        ("chả mực", "squid cake", "イカのすり身揚げ"),
        ("mật ong rừng", "wild honey", "森のはちみつ"),
        ("nước mắm", "fish sauce", "魚醤"),
        ("bánh đa", "rice cracker", "ライスクラッカー"),
        ("gạo nếp cái hoa vàng", "yellow-flower sticky rice", "黄花もち米"),
        ("miến dong", "arrowroot noodles", "くずきり麺"),
        ("tương ớt", "chilli sauce", "チリソース"),
        ("mứt gừng", "candied ginger", "生姜の砂糖漬け"),
        ("hạt điều rang muối", "salted cashew nuts", "塩味カシューナッツ"),
        ("lạp xưởng", "dried sausage", "腸詰め"),
        ("bánh gai", "gai leaf cake", "ガイの葉餅"),
        ("cá khô", "dried fish", "干し魚"),
        ("thịt trâu gác bếp", "smoked buffalo meat", "燻製水牛肉"),
        ("dưa hấu", "watermelon", "スイカ"),
        ("nấm hương", "shiitake mushrooms", "しいたけ"),
    ],
    "beverages": [
        ("trà Shan tuyết", "Shan Tuyet tea", "シャントゥエット茶"),
        ("cà phê rang xay", "ground roasted coffee", "焙煎挽きコーヒー"),
        ("rượu cần", "jar rice wine", "壺入り米酒"),
        ("nước ép chanh leo", "passion fruit juice", "パッションフルーツジュース"),
        ("trà xanh", "green tea", "緑茶"),
        ("trà hoa cúc", "chrysanthemum tea", "菊花茶"),
        ("nước cốt dừa", "coconut milk", "ココナッツミルク"),
        ("sữa chua", "yogurt drink", "ヨーグルトドリンク"),
    ],
    "herbal": [
        ("cao atisô", "artichoke extract", "アーティチョークエキス"),
        ("tinh dầu sả", "lemongrass oil", "レモングラスオイル"),
        ("bột nghệ", "turmeric powder", "ウコン粉末"),
        ("sâm Ngọc Linh", "Ngoc Linh ginseng", "ゴックリン人参"),
        ("trà thảo dược", "herbal tea", "ハーブティー"),
        ("xà phòng thiên nhiên", "natural soap", "天然石けん"),
    ],
    "textiles": [
        ("khăn lụa", "silk scarf", "絹のスカーフ"),
        ("vải thổ cẩm", "brocade cloth", "錦織の布"),
        ("áo dài thêu tay", "hand-embroidered dress", "手刺繍のアオザイ"),
        ("vải lanh", "linen cloth", "麻布"),
        ("túi dệt", "woven bag", "織りバッグ"),
    ],
    "souvenirs": [
        ("gốm Bát Tràng", "Bat Trang pottery", "バッチャン焼"),
        ("giỏ mây tre đan", "rattan basket", "籐かご"),
        ("tranh sơn mài", "lacquer painting", "漆絵"),
        ("nón lá", "conical hat", "ノンラー（菅笠）"),
        ("đồ gỗ mỹ nghệ", "carved wooden ware", "木彫り工芸品"),
        ("nến thơm sáp ong", "beeswax candle", "蜜蝋キャンドル"),
    ],
    "tourism": [
        ("homestay bản làng", "village homestay", "村の民泊"),
        ("tour làng nghề", "craft village tour", "工芸村ツアー"),
        ("trải nghiệm nông trại", "farm experience", "農園体験"),
        ("du lịch sinh thái", "eco-tour", "エコツアー"),
    ],
}

QUALIFIERS = [
    ("truyền thống", "traditional", "伝統の"),
    ("hữu cơ", "organic", "有機"),
    ("thủ công", "handmade", "手作りの"),
    ("đặc biệt", "premium", "特選"),
    ("làng nghề", "craft-village", "工芸村の"),
    ("cao cấp", "select", "上質な"),
    ("gia truyền", "heritage", "家伝の"),
    ("tự nhiên", "natural", "自然の"),
]

# Named places for the countries with most entries; other countries get numbered districts.
PLACES = {
    "VN": [
        ("Hà Giang", "Ha Giang", "ハザン"),
        ("Quảng Ninh", "Quang Ninh", "クアンニン"),
        ("Lào Cai", "Lao Cai", "ラオカイ"),
        ("Sơn La", "Son La", "ソンラ"),
        ("Đắk Lắk", "Dak Lak", "ダクラク"),
        ("Bến Tre", "Ben Tre", "ベンチェ"),
        ("Thái Nguyên", "Thai Nguyen", "タイグエン"),
        ("Hưng Yên", "Hung Yen", "フンイエン"),
        ("Nghệ An", "Nghe An", "ゲアン"),
        ("Lâm Đồng", "Lam Dong", "ラムドン"),
        ("Đồng Tháp", "Dong Thap", "ドンタップ"),
        ("Hội An", "Hoi An", "ホイアン"),
    ],
    "JP": [
        ("Ōita", "Oita", "大分"),
        ("Yufuin", "Yufuin", "由布院"),
        ("Beppu", "Beppu", "別府"),
        ("Usuki", "Usuki", "臼杵"),
        ("Hita", "Hita", "日田"),
        ("Ōyama", "Oyama", "大山"),
        ("Kunisaki", "Kunisaki", "国東"),
    ],
    "TH": [
        ("Chiang Mai", "Chiang Mai", "チェンマイ"),
        ("Nan", "Nan", "ナーン"),
        ("Sukhothai", "Sukhothai", "スコータイ"),
        ("Udon Thani", "Udon Thani", "ウドンタニ"),
        ("Phuket", "Phuket", "プーケット"),
        ("Lampang", "Lampang", "ランパーン"),
    ],
}

PRODUCER_KINDS = {
    "cooperative": ("Hợp tác xã", "cooperative", "協同組合"),
    "enterprise": ("Công ty", "company", "株式会社"),
    "household": ("Hộ kinh doanh", "household business", "個人事業"),
}
FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
GIVEN_NAMES = ["An", "Bình", "Cường", "Dũng", "Hạnh", "Hương", "Lan", "Minh", "Thảo", "Tuấn"]

# Product descriptions: (vi, en, ja) templates with {noun} {place} {stars} {year} {n} {m}.
PRODUCT_SENTENCES = [
    (
        "{Noun} được làm theo phương pháp truyền thống của người dân {place}.",
        "The {noun} is made by the traditional methods of the people of {place}.",
        "{noun}は{place}の人々の伝統的な製法で作られています。",
    ),
    (
        "Nguyên liệu được chọn lọc kỹ từ các hộ trồng trong vùng.",
        "Raw materials are carefully selected from growers in the area.",
        "原料は地域の生産者から厳選しています。",
    ),
    (
        "Sản phẩm đạt chứng nhận {stars} sao năm {year}.",
        "The product was rated {stars} stars in {year}.",
        "{year}年に{stars}つ星の評価を受けました。",
    ),
    (
        "Cơ sở có {n} thành viên và bán sản phẩm tại {m} tỉnh, thành phố.",
        "The producer has {n} members and sells in {m} provinces and cities.",
        "生産者は{n}人の会員を持ち、{m}の県と市で販売しています。",
    ),
    (
        "Đóng gói trong hộp giấy tái chế, bảo quản nơi khô ráo, thoáng mát.",
        "Packed in recycled paper boxes; store in a cool, dry place.",
        "再生紙の箱入り。涼しく乾燥した場所で保存してください。",
    ),
    (
        "Hạn sử dụng {m} tháng kể từ ngày sản xuất.",
        "Best before {m} months from production.",
        "賞味期限は製造から{m}か月です。",
    ),
    (
        "Hương vị đậm đà, phù hợp làm quà tặng cho du khách.",
        "A rich flavour that makes a good gift for visitors.",
        "豊かな味わいで、お土産に最適です。",
    ),
    (
        "Sản xuất theo tiêu chuẩn VietGAP và được kiểm tra chất lượng định kỳ.",
        "Produced to good agricultural practice standards with regular quality checks.",
        "適正農業規範に沿って生産し、定期的に品質検査を行っています。",
    ),
    (
        "Mỗi năm cơ sở sản xuất khoảng {n} tấn, tạo việc làm cho {m} lao động địa phương.",
        "Each year the producer makes about {n} tonnes and employs {m} local workers.",
        "年間約{n}トンを生産し、地元の{m}人を雇用しています。",
    ),
    (
        "Có thể mua trực tiếp tại cửa hàng của hợp tác xã hoặc qua sàn thương mại điện tử.",
        "It can be bought at the cooperative's shop or online.",
        "協同組合の直売所やオンラインで購入できます。",
    ),
    (
        "Du khách có thể tham quan xưởng sản xuất và trải nghiệm cùng nghệ nhân.",
        "Visitors can tour the workshop and try the craft with the artisans.",
        "見学者は工房を訪れ、職人と一緒に体験できます。",
    ),
    (
        "Bao bì có mã QR truy xuất nguồn gốc đến từng lô hàng.",
        "A QR code on the pack traces each batch to its origin.",
        "パッケージのQRコードでロットごとに産地をたどれます。",
    ),
]
HONEY_SENTENCE = (
    "Sản phẩm được kết hợp với mật ong để tăng vị ngọt tự nhiên.",
    "It is combined with honey for a natural sweetness.",
    "はちみつを加えて自然な甘さに仕上げています。",
)

POLICY_TOPICS = [
    ("phát triển sản phẩm OCOP", "developing OCOP products", "OCOP産品の開発"),
    ("hỗ trợ hợp tác xã", "support to cooperatives", "協同組合への支援"),
    ("xúc tiến thương mại", "trade promotion", "貿易振興"),
    ("chuyển đổi số nông thôn", "rural digital transformation", "農村のデジタル化"),
    ("du lịch nông thôn", "rural tourism", "農村観光"),
    ("tiêu chuẩn chất lượng sản phẩm", "product quality standards", "産品の品質基準"),
    ("tín dụng cho hộ sản xuất", "credit for household producers", "世帯生産者向け融資"),
    ("bảo hộ chỉ dẫn địa lý", "protecting geographical indications", "地理的表示の保護"),
]
POLICY_SENTENCES = [
    (
        "Chương trình tập trung vào {topic} dựa trên lợi thế của từng địa phương.",
        "The programme focuses on {topic}, building on each locality's strengths.",
        "本プログラムは各地域の強みを生かし、{topic}に重点を置きます。",
    ),
    (
        "Ngân sách nhà nước hỗ trợ tối đa {n}% chi phí đánh giá và xếp hạng sản phẩm.",
        "The state budget covers up to {n}% of the cost of evaluating and rating products.",
        "国の予算が産品の評価・格付け費用の最大{n}%を負担します。",
    ),
    (
        "Các tỉnh lập kế hoạch hằng năm và báo cáo kết quả trước ngày {m} tháng 12.",
        "Provinces draw up yearly plans and report results by {m} December.",
        "各省は年次計画を作成し、12月{m}日までに成果を報告します。",
    ),
    (
        "Hợp tác xã và doanh nghiệp nhỏ được ưu tiên tham gia hội chợ trong và ngoài nước.",
        "Cooperatives and small enterprises get priority for fairs at home and abroad.",
        "協同組合と中小企業は国内外の見本市への参加で優先されます。",
    ),
    (
        "Bộ tiêu chí gồm {n} chỉ tiêu chia thành ba nhóm: sản phẩm, tổ chức sản xuất "
        "và thị trường.",
        "The criteria number {n}, in three groups: the product, its production and its market.",
        "基準は{n}項目で、産品、生産体制、市場の三つに分かれます。",
    ),
    (
        "Sản phẩm đạt từ 3 sao trở lên được hỗ trợ quảng bá trên cổng thông tin quốc gia.",
        "Products rated 3 stars or more are promoted on the national portal.",
        "3つ星以上の産品は国のポータルで紹介されます。",
    ),
    (
        "Giai đoạn này đặt mục tiêu {n} sản phẩm được công nhận và {m} điểm du lịch nông thôn.",
        "The period aims for {n} recognised products and {m} rural tourism sites.",
        "この期間の目標は認定産品{n}品目と農村観光地{m}か所です。",
    ),
    (
        "Việc kiểm tra, giám sát được thực hiện định kỳ sau khi sản phẩm được công nhận.",
        "Checks and monitoring continue regularly after a product is recognised.",
        "認定後も定期的に検査と監視を行います。",
    ),
    (
        "Quyết định có hiệu lực kể từ ngày ký và thay thế các quy định trước đây.",
        "The decision takes effect on signature and replaces earlier rules.",
        "本決定は署名日に発効し、従来の規定に代わります。",
    ),
    (
        "Đào tạo kỹ năng quản trị và tiếp thị cho {n} chủ thể sản xuất mỗi năm.",
        "Management and marketing training reaches {n} producers each year.",
        "毎年{n}の生産者に経営とマーケティングの研修を行います。",
    ),
]

EXPERIENCE_SENTENCES = [
    (
        "Tại {place}, {n} hộ sản xuất đã cùng nhau thành lập hợp tác xã để nâng cao "
        "giá trị sản phẩm.",
        "In {place}, {n} households set up a cooperative together to add value to their products.",
        "{place}では{n}世帯が協同組合を設立し、産品の付加価値を高めました。",
    ),
    (
        "Chính quyền địa phương hỗ trợ thiết kế bao bì và xây dựng nhãn hiệu chung.",
        "The local government helped design packaging and build a shared brand.",
        "地方政府が包装デザインと共通ブランドづくりを支援しました。",
    ),
    (
        "Sau {m} năm, thu nhập bình quân của thành viên tăng khoảng {n}%.",
        "After {m} years, members' average income rose by about {n}%.",
        "{m}年後、会員の平均所得は約{n}%増えました。",
    ),
    (
        "Sản phẩm được giới thiệu tại hội chợ quốc tế và bắt đầu xuất khẩu.",
        "The products were shown at international fairs and began to be exported.",
        "産品は国際見本市で紹介され、輸出が始まりました。",
    ),
    (
        "Phụ nữ và thanh niên chiếm hơn một nửa số lao động của mô hình.",
        "Women and young people make up more than half of the workforce.",
        "女性と若者が労働力の半分以上を占めています。",
    ),
    (
        "Mô hình du lịch cộng đồng đón khoảng {n} nghìn lượt khách mỗi năm.",
        "The community tourism model welcomes about {n} thousand visitors a year.",
        "地域観光モデルは年間約{n}千人の来訪者を迎えています。",
    ),
    (
        "Việc truy xuất nguồn gốc giúp người mua tin tưởng vào chất lượng.",
        "Traceability gave buyers confidence in the quality.",
        "トレーサビリティが品質への信頼につながりました。",
    ),
]
LESSON_SENTENCES = [
    (
        "Cần có sự tham gia thực chất của người dân ngay từ đầu.",
        "Real participation of the villagers is needed from the start.",
        "最初から住民が主体的に参加することが必要です。",
    ),
    (
        "Thị trường phải được tìm hiểu trước khi mở rộng sản xuất.",
        "Markets must be studied before production grows.",
        "生産を拡大する前に市場を調べる必要があります。",
    ),
    (
        "Liên kết với doanh nghiệp giúp ổn định đầu ra.",
        "Links with companies keep sales steady.",
        "企業との連携が販路を安定させます。",
    ),
    (
        "Hỗ trợ nên giảm dần để chủ thể tự chủ.",
        "Support should taper off so that producers stand on their own.",
        "支援は徐々に減らし、生産者の自立を促すべきです。",
    ),
    (
        "Câu chuyện sản phẩm gắn với văn hóa địa phương tạo khác biệt.",
        "A product story rooted in local culture sets it apart.",
        "地域文化に根ざした産品の物語が差別化を生みます。",
    ),
]
OUTCOME_UNITS = {
    "producers": "households",
    "products_certified": "products",
    "revenue": "USD",
    "jobs": "jobs",
    "income": "USD/year",
    "communes": "communes",
}

FAIR_THEMES = [
    ("sản phẩm OCOP", "OCOP Products", "OCOP産品"),
    ("đặc sản vùng miền", "Regional Specialities", "地方特産品"),
    ("thủ công mỹ nghệ", "Handicrafts", "手工芸品"),
    ("nông sản an toàn", "Safe Farm Produce", "安全な農産物"),
    ("Một làng một sản phẩm", "One Village One Product", "一村一品"),
]
FAIR_SENTENCES = [
    (
        "Hội chợ quy tụ khoảng {n} gian hàng của các chủ thể sản xuất.",
        "The fair gathers about {n} stands of producers.",
        "見本市には生産者の約{n}のブースが集まります。",
    ),
    (
        "Khách tham quan được nếm thử và mua sản phẩm trực tiếp.",
        "Visitors can taste and buy products on the spot.",
        "来場者はその場で試食や購入ができます。",
    ),
    (
        "Có hội thảo về xuất khẩu và thương mại điện tử vào ngày thứ hai.",
        "Seminars on exports and e-commerce run on the second day.",
        "2日目には輸出と電子商取引のセミナーがあります。",
    ),
    (
        "Đăng ký gian hàng trước {m} ngày để được hỗ trợ chi phí.",
        "Book a stand {m} days ahead to get help with the costs.",
        "費用補助を受けるには{m}日前までにブースを申し込んでください。",
    ),
]
VENUES = [
    ("Trung tâm Hội chợ Triển lãm", "Exhibition Centre", "展示センター"),
    ("Cung Văn hóa", "Cultural Palace", "文化会館"),
    ("Quảng trường Trung tâm", "Central Square", "中央広場"),
]


def country_names(codes):
    """Each registry country's name in each language, from CLDR: ``{code: (vi, en, ja)}``."""
    locales = [Locale.parse(lang) for lang in LANGS]
    return {code: tuple(loc.territories.get(code, code) for loc in locales) for code in codes}


def places_for(code, names):
    """(vi, en, ja) place names of one country: named ones where known, else districts."""
    if code in PLACES:
        return PLACES[code]
    vi, en, ja = names[code]
    return [(f"huyện {k}, {vi}", f"District {k}, {en}", f"{ja}第{k}地区") for k in range(1, 9)]
