"""Full references of the published values the report shows, and the AE colour bands.

Each entry: authors, year, title, journal volume(issue):pages. The report cites these primary
sources, never Cervitrack's own notes.
"""

from __future__ import annotations

REVEL_1994 = ("Revel M, Minguet M, Gregoy P, Vaillant J, Manuel JL (1994). Changes in cervicocephalic "
              "kinesthesia after a proprioceptive rehabilitation program in patients with neck pain: a "
              "randomized controlled study. Arch Phys Med Rehabil 75(8):895–899")
SMULLIGAN_2025 = ("Smulligan KL, Magliato SN, Keeter CL, Wingerson MJ, Smith AC, Wilson JC, Howell DR "
                  "(2025, online 2024). The diagnostic utility of cervical spine proprioception for "
                  "adolescent concussion. Clin J Sport Med 35(1):23–28")
LEE_2006 = ("Lee HY, Teng CC, Chai HM, Wang SF (2006). Test-retest reliability of cervicocephalic "
            "kinesthetic sensibility in three cohorts. Man Ther 11(1):61–68")
SWINKELS_2014 = ("Swinkels RA, Swinkels-Meewisse IE (2014). Normal values for cervical range of motion. "
                 "Spine 39(5):362–367")
NIEDERER_2015 = ("Niederer D, Vogt L, Wilke J, Rickert M, Banzer W (2015). Age-related cutoffs for cervical "
                 "movement behaviour to distinguish chronic idiopathic neck pain patients from unimpaired "
                 "subjects. Eur Spine J 24(3):493–502")
ERNST_2019 = ("Ernst MJ, Williams L, Werner IM, Crawford RJ, Treleaven J (2019). Clinical assessment of "
              "cervical movement sense in those with neck pain compared to asymptomatic individuals. "
              "Musculoskelet Sci Pract 43:64–69")
KRISTJANSSON_2004 = ("Kristjansson E, Hardardottir L, Asmundardottir M, Gudmundsson K (2004). A new "
                     "clinical test for cervicocephalic kinesthetic sensibility: \"the fly\". "
                     "Arch Phys Med Rehabil 85(3):490–495")

#: Short in-text labels of the references above.
SHORT = {REVEL_1994: "Revel et al. 1994", SMULLIGAN_2025: "Smulligan et al. 2025",
         LEE_2006: "Lee et al. 2006", SWINKELS_2014: "Swinkels & Swinkels-Meewisse 2014",
         NIEDERER_2015: "Niederer et al. 2015", ERNST_2019: "Ernst et al. 2019",
         KRISTJANSSON_2004: "Kristjansson et al. 2004"}

#: JPE flag thresholds (deg) with their primary source.
THRESHOLD_REFERENCES = {4.5: REVEL_1994, 3.5: SMULLIGAN_2025}

#: AE colour bands (deg): green below 3.5° (the cut-point of Smulligan et al. 2025, adolescents
#: after concussion vs controls), amber 3.5–4.5°, red above 4.5° (Revel et al. 1994). The same
#: bands as the application's results view.
AE_GREEN_BELOW_DEG = 3.5
AE_RED_ABOVE_DEG = 4.5
BAND_COLOURS = {"green": "#c8ecc8", "amber": "#fde3a7", "red": "#f6c1c1"}


def ae_band(ae_deg: float | None) -> str | None:
    """"green", "amber" or "red" for an AE (deg); None when there is no number."""
    if ae_deg is None or ae_deg != ae_deg:
        return None
    if ae_deg < AE_GREEN_BELOW_DEG:
        return "green"
    return "amber" if ae_deg <= AE_RED_ABOVE_DEG else "red"


def threshold_reference(threshold_deg: float | None) -> str:
    """The full reference of a JPE flag threshold, or a plain note for a user's own value."""
    if threshold_deg is None:
        return "no threshold set"
    ref = THRESHOLD_REFERENCES.get(round(float(threshold_deg), 3))
    return ref if ref else "a value set by the user (no published source)"
