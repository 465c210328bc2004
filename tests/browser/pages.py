"""The pages the browser tests visit: every kind of page a visitor, a coordinator and an
administrator sees (about one of each template, to keep the browser suite short), as paths with
``{lang}`` and the ids of the seeded entries to fill in."""

PUBLIC_PAGES = (
    "/{lang}/",
    "/{lang}/countries",
    "/{lang}/countries/VN",
    "/{lang}/countries/JP",
    "/{lang}/policies",
    "/{lang}/policies/{policy}",
    "/{lang}/experiences",
    "/{lang}/experiences/{experience}",
    "/{lang}/fairs",
    "/{lang}/fairs/{fair}",
    "/{lang}/products?group=beverages",
    "/{lang}/products/{product}",
    "/{lang}/products/{photo_product}",
    "/{lang}/search?q=ocop",
    "/{lang}/login",
    "/{lang}/password/forgotten",
    "/{lang}/follow?country=VN&collection=products",
    "/{lang}/invitations/{invitation}",
    "/{lang}/api",
    "/{lang}/no-such-page",
)
COORDINATOR_PAGES = (
    "/{lang}/manage/",
    "/{lang}/manage/translations",
    "/{lang}/manage/policy/new",
    "/{lang}/manage/experience/new",
    "/{lang}/manage/fair/new",
    "/{lang}/manage/product/new",
    "/{lang}/manage/entries/{policy}",
    "/{lang}/manage/entries/{policy}/text/en",
    "/{lang}/account",
)
ADMIN_PAGES = (
    "/{lang}/admin/users",
    "/{lang}/admin/audit",
    "/{lang}/admin/tokens",
    "/{lang}/admin/sources/",
    "/{lang}/admin/sources/{source}",
    "/{lang}/admin/countries/TH/membership",
    "/{lang}/admin/mail",
)


def fill(path, lang, site):
    """A page's path in ``lang`` with the seeded ids in it."""
    return path.format(lang=lang, source=site.source, invitation=site.invitation, **site.entries)
