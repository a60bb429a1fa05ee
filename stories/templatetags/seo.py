"""Template tags that put ``stories.reader.meta`` page metadata into the ``meta`` block."""

from django import template

from ..reader import meta

register = template.Library()
META_TEMPLATE = meta.META_TEMPLATE


@register.inclusion_tag(META_TEMPLATE, takes_context=True)
def story_meta(context, story):
    return {"meta": meta.story_meta(story, context["request"]), "site_name": context["site_name"]}


@register.inclusion_tag(META_TEMPLATE, takes_context=True)
def home_meta(context):
    request = context["request"]
    page_meta = meta.home_meta(request, context.get("page_obj"))
    return {"meta": page_meta, "site_name": context["site_name"]}


@register.inclusion_tag(META_TEMPLATE, takes_context=True)
def listing_meta(context, section=None, tag=None, byline=None):
    """Meta for the section, tag or byline page whose object is given."""
    if section:
        name, description, kind, slug = section.name, section.description, "section", section.slug
    elif tag:
        name, description, kind, slug = tag.name, "", "tag", tag.slug
    else:
        name, description, kind, slug = byline.name, byline.bio, "byline", byline.slug
    page_meta = meta.listing_meta(
        context["request"],
        name=name,
        description=description,
        kind=kind,
        feed_names=(f"stories:{kind}_feed", f"stories:{kind}_atom_feed"),
        slug=slug,
        page_obj=context.get("page_obj"),
    )
    return {"meta": page_meta, "site_name": context["site_name"]}


@register.simple_tag
def publication_language():
    return meta.publication_language()


@register.inclusion_tag(META_TEMPLATE, takes_context=True)
def site_page_meta(context, page):
    return {
        "meta": meta.site_page_meta(context["request"], page),
        "site_name": context["site_name"],
    }
