"""The words that give a language away: each language's most common short words (articles,
pronouns, prepositions, auxiliaries) and the courtesies a support mail opens and closes with,
lower case. Running text is a third to a half such words, so a sentence or two names its
language; a word two languages share counts for both. Written for this project from the
grammar of each language (no word list was copied)."""

from __future__ import annotations

WORDS: dict[str, str] = {
    "en": """
        the a an and or but of to in on at by for from with about into over after before since
        until again still just only also very not no yes is are was were be been being am
        has have had do does did will would can could should shall may might must i me my
        mine we us our ours you your yours he him his she her it its they them their this that
        these those there here what which who whom whose when where why how all any some
        every each other than then so if as please thanks thank hi hello dear regards best
        cheers kind sincerely today yesterday tomorrow morning afternoon now anymore get got
        getting don doesn didn isn aren wasn won couldn wouldn shouldn haven hasn ll ve re let
        know
    """,
    "de": """
        der die das den dem des ein eine einen einem einer eines und oder aber nicht kein
        keine keinen ist sind war waren bin bist sein gewesen hat haben habe hatte hatten wird
        werden wurde wurden kann können konnte müssen muss soll sollte möchte möchten ich mich
        mir wir uns unser unsere unseren unserem ihr ihre ihren ihrem ihnen sie es er ihm sich
        mein meine meinen meinem dein man mit von zu zum zur bei nach seit aus auf für über
        unter vor hinter durch gegen ohne um an im ins am vom beim noch auch schon nur mehr
        sehr immer wieder jetzt heute gestern morgen hier dort was wie warum wann wo wer
        welche welcher welches dass weil wenn ob als so doch bitte danke dank vielen hallo guten
        tag grüße gruß freundlichen beste liebe sehr geehrte geehrter geht gibt leider
    """,
    "es": """
        el la los las lo un una unos unas y o pero de del al en con por para sin sobre desde
        hasta entre que qué quien cual cuál cuando cuándo donde dónde como cómo porque es son
        era fue ser estar está están estamos estoy hay ha han he hemos había tiene tienen
        tenemos tengo puede pueden podemos podría se me te nos le les mi mis tu su sus nuestro
        nuestra nuestros usted ustedes yo él ella ellos este esta esto estos estas ese esa eso
        no sí ya muy más también todo todos toda nada hoy ayer mañana ahora aún todavía hola
        gracias saludos buenos buenas días favor estimado estimada atentamente cordialmente
    """,
    "fr": """
        le la les l un une des du de d et ou mais donc ne n pas plus rien que qu qui quoi dont
        où quand comment pourquoi est sont était été être ai as a avons avez ont avait fait
        peut peuvent pouvez pouvons je j me tu te il elle on nous vous ils elles se ce c
        cet cette ces mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs dans en
        sur sous avec pour par sans chez depuis avant après au aux très aussi tout tous toute
        toutes déjà encore toujours aujourd hui hier demain maintenant bonjour merci
        cordialement madame monsieur bonsoir salutations svp y
    """,
    "it": """
        il lo la i gli le l un una uno di del della dello dei degli delle da dal dalla dai in
        nel nella nei con su sul sulla per tra fra e ed o ma che chi cui non più è sono era
        erano stato stata essere ho hai ha abbiamo avete hanno aveva può possono potete
        possiamo io mi ti si ci vi lui lei noi voi loro questo questa questi queste quello
        quella mio mia miei nostro nostra vostro vostra suo sua come quando dove perché
        anche ancora già sempre molto tutto tutti oggi ieri domani adesso ora grazie
        buongiorno buonasera ciao saluti cordiali distinti gentile
    """,
    "pt": """
        o os a as um uma uns umas de do da dos das em no na nos nas ao aos à às e ou mas que
        quem qual quando onde como porque porquê não sim é são era foi ser estar está estão
        estamos estou tem têm temos tenho tinha há pode podem podemos se me te lhe lhes nos
        eu ele ela eles elas você vocês meu minha meus nosso nossa seu sua este esta isto
        esse essa isso aquele para por com sem sobre desde até entre mais muito também já
        ainda sempre tudo todos hoje ontem amanhã agora olá obrigado obrigada bom dia boa
        tarde atenciosamente cumprimentos prezado prezada
    """,
    "nl": """
        de het een en of maar van in op aan met voor naar bij uit om over door tot sinds na
        niet geen wel ook nog al is zijn was waren ben bent heb hebt heeft hebben had wordt
        worden werd kan kunnen kon moet moeten zal zou wil willen ik mij me mijn we wij ons
        onze je jij jou jouw u uw hij hem zijn zij ze haar hun dat die dit deze er hier daar
        wat wie waar waarom wanneer hoe als dan omdat zo zeer erg heel vandaag gisteren
        morgen nu graag bedankt dank hallo goedemorgen goedemiddag groeten groet vriendelijke
        beste geachte
    """,
    # Languages we ship no templates for, so that their mail is not read as one we do.
    "ca": """
        el la els les l un una uns unes de del dels d i o però que què qui quan on com per pel
        als s hi
        amb sense sobre des fins entre és són era ha han hem heu he ser estat està estan no
        sí ja molt més també tot tots avui ahir demà ara hola gràcies bon dia salutacions
        aquest aquesta això nostre nostra vostre vostra seu seva meu meva jo ell ella nosaltres
        vosaltres ells elles us ens em et es hi ho pot poden podem voleu vol
    """,
    "da": """
        og i at det der den de en et er var har havde være blive bliver blev ikke kan vil skal
        må jeg du han hun vi dig mig os jer dem sin sit sine min mit mine vores jeres deres
        til fra med på af for om over under efter før siden men eller som hvis når hvad hvem
        hvor hvorfor hvordan her nu også kun meget alle ingen noget dette disse tak hej venlig
        hilsen god dag i dag i går
    """,
    "sv": """
        och i att det som en ett är var har hade vara blir blev inte kan vill ska måste jag
        du han hon vi dig mig oss er dem sin sitt sina min mitt mina vår vårt våra er ert era
        deras till från med på av för om över under efter före sedan men eller när vad vem
        var varför hur här nu också bara mycket alla ingen något detta dessa tack hej vänliga
        hälsningar god dag idag igår
    """,
    "pl": """
        i w z na do od się nie jest są był była było być ma mają mamy mam może mogą można to
        ten ta te tego tej tym że jak czy co kto gdzie kiedy dlaczego ale lub oraz a o po przy
        dla przez za pod nad przed bez jeszcze już tylko też także bardzo wszystko dzisiaj
        wczoraj jutro teraz dzień dobry dziękuję pozdrawiam proszę ja ty on ona my wy oni nas
        nam nasz nasza wasz wasza
    """,
    "ro": """
        și în la de pe cu din pentru prin despre fără după până este sunt era fost fi avem
        are au am ai nu da care ce cine când unde cum de ce dar sau că să se mă te ne vă îi
        un o unei unui al ale ai lui ei mai foarte tot toate toți deja încă azi ieri mâine
        acum bună ziua mulțumesc mulțumim salut cu stimă acest această noastră nostru
    """,
}

# Letters each language writes and most others do not: a mail that uses one is likelier that
# language's (each such letter counts once, as a word would).
LETTERS: dict[str, str] = {
    "en": "",
    "de": "äöüß",
    "es": "ñ¿¡áéíóú",
    "fr": "èêàçœûîëùâ",
    "it": "àèìòùé",
    "pt": "ãõçâêôáéíóú",
    "nl": "ëï",
    "ca": "àèòïçéíóú",
    "da": "æøå",
    "sv": "åäö",
    "pl": "ąćęłńśźżó",
    "ro": "ăâîșțşţ",
}
