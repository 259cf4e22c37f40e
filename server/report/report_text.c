/* The report catalogue (report_text.h): one array of strings per language,
 * in the order of REPORT_TEXT_TABLE; English comes from the table itself. */
#include "report_text.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const en[RT_COUNT_] = {
#define REPORT_TEXT_EN_(id, text) text,
    REPORT_TEXT_TABLE(REPORT_TEXT_EN_)
#undef REPORT_TEXT_EN_
};

/* Each translation lists every entry in table order; the _Static_asserts
 * below fail the build when one is missing or extra. */
static const char *const zh[] = {
    "日报",
    "周报",
    "月报",
    "报告",
    "测量组",
    "期间",
    "时区",
    "创建时间",
    "摘要",
    "图表",
    "报警事件",
    "通道",
    "单位",
    "最小值",
    "最小值时间",
    "最大值",
    "最大值时间",
    "平均值",
    "数据数",
    "特殊值",
    "此期间无数据",
    "此期间没有报警事件。",
    "此期间另有 %zu 个事件未列出。",
    "时间",
    "事件",
    "报警",
    "值",
    "级别",
    "发生",
    "解除",
    "特殊值",
    "特殊值结束",
    "警报",
    "警告",
    "缺失",
    "超量程 (+)",
    "超量程 (-)",
    "断线",
    "计算错误",
    "第 %d 页，共 %d 页",
    "数据",
    "图表下方的标记：该时段内有特殊值。",
    "运算",
    "全部通道",
    "时间为 %s 的当地时间。",
    "报告“%s”：%s",
    "测量组“%2$s”的报告“%1$s”（%3$s）已生成，并保存在您的 Metron 账户的云盘中。",
    "打开报告",
    "PDF 已附在本邮件中。",
    "PDF 大于 %s，未作为附件发送：请通过链接打开。",
    "文件",
};

static const char *const ja[] = {
    "日報",
    "週報",
    "月報",
    "レポート",
    "計測グループ",
    "期間",
    "タイムゾーン",
    "作成日時",
    "サマリー",
    "グラフ",
    "警報イベント",
    "チャネル",
    "単位",
    "最小値",
    "最小値の時刻",
    "最大値",
    "最大値の時刻",
    "平均値",
    "データ数",
    "特殊値",
    "この期間のデータはありません",
    "この期間の警報イベントはありません。",
    "この期間のほかの %zu 件のイベントは記載していません。",
    "時刻",
    "イベント",
    "警報",
    "値",
    "重要度",
    "発生",
    "解除",
    "特殊値",
    "特殊値の終了",
    "警報",
    "注意",
    "欠測",
    "オーバーレンジ (+)",
    "オーバーレンジ (-)",
    "断線",
    "演算エラー",
    "%d / %d ページ",
    "データ",
    "グラフ下の印：その時間帯に特殊値があります。",
    "演算",
    "全チャネル",
    "時刻は %s の現地時刻です。",
    "レポート「%s」：%s",
    "計測グループ「%2$s」のレポート「%1$s」（%3$s）ができました。Metron アカウントのドライブに保存されています。",
    "レポートを開く",
    "PDF をこのメールに添付しています。",
    "PDF は %s を超えるため添付していません。リンクから開いてください。",
    "ファイル",
};

static const char *const es[] = {
    "Informe diario",
    "Informe semanal",
    "Informe mensual",
    "Informe",
    "Grupo de medición",
    "Periodo",
    "Zona horaria",
    "Creado",
    "Resumen",
    "Gráficos",
    "Eventos de alarma",
    "Canal",
    "Unidad",
    "Mínimo",
    "Hora del mínimo",
    "Máximo",
    "Hora del máximo",
    "Media",
    "Valores",
    "Valores especiales",
    "Sin datos en este periodo",
    "No hay eventos de alarma en este periodo.",
    "Otros %zu eventos de este periodo no se muestran.",
    "Hora",
    "Evento",
    "Alarma",
    "Valor",
    "Gravedad",
    "Activada",
    "Desactivada",
    "Valor especial",
    "Fin del valor especial",
    "Alerta",
    "Advertencia",
    "sin dato",
    "fuera de rango (+)",
    "fuera de rango (-)",
    "sensor roto",
    "error de cálculo",
    "Página %d de %d",
    "Muestras",
    "Marcas bajo un gráfico: valores especiales en ese intervalo.",
    "calculado",
    "Todos los canales",
    "Las horas son horas locales de %s.",
    "Informe «%s»: %s",
    ("El informe «%s» del grupo de medición «%s» para %s está listo. Se guarda en la unidad "
     "de su cuenta Metron."),
    "Abrir el informe",
    "El PDF va adjunto a este correo.",
    "El PDF ocupa más de %s y no se adjunta: ábralo con el enlace.",
    "Archivos",
};

static const char *const fr[] = {
    "Rapport journalier",
    "Rapport hebdomadaire",
    "Rapport mensuel",
    "Rapport",
    "Groupe de mesure",
    "Période",
    "Fuseau horaire",
    "Créé le",
    "Résumé",
    "Graphiques",
    "Événements d’alarme",
    "Voie",
    "Unité",
    "Minimum",
    "Heure du minimum",
    "Maximum",
    "Heure du maximum",
    "Moyenne",
    "Valeurs",
    "Valeurs spéciales",
    "Aucune donnée pour cette période",
    "Aucun événement d’alarme pendant cette période.",
    "%zu autres événements de cette période ne sont pas listés.",
    "Heure",
    "Événement",
    "Alarme",
    "Valeur",
    "Gravité",
    "Déclenchée",
    "Levée",
    "Valeur spéciale",
    "Fin de valeur spéciale",
    "Alerte",
    "Avertissement",
    "manquante",
    "hors plage (+)",
    "hors plage (-)",
    "capteur coupé",
    "erreur de calcul",
    "Page %d sur %d",
    "Mesures",
    "Marques sous un graphique : valeurs spéciales dans cet intervalle.",
    "calculée",
    "Toutes les voies",
    "Les heures sont en heure locale de %s.",
    "Rapport « %s » : %s",
    ("Le rapport « %s » du groupe de mesure « %s » pour %s est prêt. Il est conservé dans "
     "l’espace de stockage de votre compte Metron."),
    "Ouvrir le rapport",
    "Le PDF est joint à ce message.",
    "Le PDF dépasse %s et n’est pas joint : ouvrez-le avec le lien.",
    "Fichiers",
};

static const char *const de[] = {
    "Tagesbericht",
    "Wochenbericht",
    "Monatsbericht",
    "Bericht",
    "Messgruppe",
    "Zeitraum",
    "Zeitzone",
    "Erstellt",
    "Übersicht",
    "Diagramme",
    "Alarmereignisse",
    "Kanal",
    "Einheit",
    "Minimum",
    "Zeit des Minimums",
    "Maximum",
    "Zeit des Maximums",
    "Mittelwert",
    "Werte",
    "Sonderwerte",
    "Keine Daten in diesem Zeitraum",
    "Keine Alarmereignisse in diesem Zeitraum.",
    "%zu weitere Ereignisse dieses Zeitraums sind nicht aufgeführt.",
    "Zeit",
    "Ereignis",
    "Alarm",
    "Wert",
    "Schwere",
    "Ausgelöst",
    "Aufgehoben",
    "Sonderwert",
    "Sonderwert beendet",
    "Alarm",
    "Warnung",
    "fehlend",
    "Bereichsüberschreitung (+)",
    "Bereichsüberschreitung (-)",
    "Fühlerbruch",
    "Rechenfehler",
    "Seite %d von %d",
    "Messwerte",
    "Marken unter einem Diagramm: Sonderwerte in diesem Zeitabschnitt.",
    "berechnet",
    "Alle Kanäle",
    "Zeiten sind Ortszeiten in %s.",
    "Bericht „%s“: %s",
    ("Der Bericht „%s“ der Messgruppe „%s“ für %s ist fertig. Er liegt im Speicher Ihres "
     "Metron-Kontos."),
    "Bericht öffnen",
    "Das PDF ist dieser E-Mail angehängt.",
    "Das PDF ist größer als %s und nicht angehängt: Öffnen Sie es über den Link.",
    "Dateien",
};

static const char *const it[] = {
    "Rapporto giornaliero",
    "Rapporto settimanale",
    "Rapporto mensile",
    "Rapporto",
    "Gruppo di misura",
    "Periodo",
    "Fuso orario",
    "Creato",
    "Riepilogo",
    "Grafici",
    "Eventi di allarme",
    "Canale",
    "Unità",
    "Minimo",
    "Ora del minimo",
    "Massimo",
    "Ora del massimo",
    "Media",
    "Valori",
    "Valori speciali",
    "Nessun dato in questo periodo",
    "Nessun evento di allarme in questo periodo.",
    "Altri %zu eventi di questo periodo non sono elencati.",
    "Ora",
    "Evento",
    "Allarme",
    "Valore",
    "Gravità",
    "Attivato",
    "Rientrato",
    "Valore speciale",
    "Fine del valore speciale",
    "Allarme",
    "Avviso",
    "mancante",
    "fuori scala (+)",
    "fuori scala (-)",
    "sensore interrotto",
    "errore di calcolo",
    "Pagina %d di %d",
    "Campioni",
    "Segni sotto un grafico: valori speciali in quell’intervallo.",
    "calcolato",
    "Tutti i canali",
    "Gli orari sono orari locali di %s.",
    "Rapporto «%s»: %s",
    ("Il rapporto «%s» del gruppo di misura «%s» per %s è pronto. È conservato nello spazio "
     "di archiviazione del suo account Metron."),
    "Apri il rapporto",
    "Il PDF è allegato a questo messaggio.",
    "Il PDF supera %s e non è allegato: lo apra con il link.",
    "File",
};

_Static_assert(sizeof zh / sizeof zh[0] == RT_COUNT_, "zh-CN: one text per entry");
_Static_assert(sizeof ja / sizeof ja[0] == RT_COUNT_, "ja: one text per entry");
_Static_assert(sizeof es / sizeof es[0] == RT_COUNT_, "es: one text per entry");
_Static_assert(sizeof fr / sizeof fr[0] == RT_COUNT_, "fr: one text per entry");
_Static_assert(sizeof de / sizeof de[0] == RT_COUNT_, "de: one text per entry");
_Static_assert(sizeof it / sizeof it[0] == RT_COUNT_, "it: one text per entry");

static const char *const *table_of(const char *language)
{
    if (language == NULL) {
        return en;
    }
    if (strcmp(language, "zh-CN") == 0) {
        return zh;
    }
    if (strcmp(language, "ja") == 0) {
        return ja;
    }
    if (strcmp(language, "es") == 0) {
        return es;
    }
    if (strcmp(language, "fr") == 0) {
        return fr;
    }
    if (strcmp(language, "de") == 0) {
        return de;
    }
    if (strcmp(language, "it") == 0) {
        return it;
    }
    return en;
}

const char *report_text(const char *language, report_text_id id)
{
    if ((int)id < 0 || id >= RT_COUNT_) {
        return "";
    }
    return table_of(language)[id];
}

const char *report_text_special(const char *language, int kind)
{
    switch (kind) {
    case 1: return report_text(language, RT_SV_MISSING);
    case 2: return report_text(language, RT_SV_OVER_POS);
    case 3: return report_text(language, RT_SV_OVER_NEG);
    case 4: return report_text(language, RT_SV_BREAK);
    default: return report_text(language, RT_SV_ERROR);
    }
}

/* The data API's exact formatter (svc_data.c's format_double): 0..6
 * decimals with integer arithmetic when that reads back exactly, else the
 * shortest of %.15g..%.17g that round-trips. */
size_t report_num_exact(double v, char out[32])
{
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = v < 0 ? -v : v;
    if (a < 1e12) {
        for (int k = 0; k <= 6; k++) {
            double r = (double)(long long)(a * pow10[k] + 0.5);
            if (r / pow10[k] == a) {
                long long q = (long long)r;
                long long ip = q / (long long)pow10[k], fp = q % (long long)pow10[k];
                char digits[24];
                size_t n = 0, len = 0;
                if (v < 0 && q != 0) {
                    out[len++] = '-';
                }
                do {
                    digits[n++] = (char)('0' + ip % 10);
                    ip /= 10;
                } while (ip > 0);
                while (n > 0) {
                    out[len++] = digits[--n];
                }
                if (k > 0 && fp != 0) {
                    int w = k;
                    while (fp % 10 == 0) {
                        fp /= 10;
                        w--;
                    }
                    out[len++] = '.';
                    for (int i = w - 1; i >= 0; i--) {
                        out[len + (size_t)i] = (char)('0' + fp % 10);
                        fp /= 10;
                    }
                    len += (size_t)w;
                }
                out[len] = '\0';
                return len;
            }
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v) {
            break;
        }
    }
    return strlen(out);
}

/* Significant digits of decimal text "s" (sign, point, exponent and
 * leading zeros not counted). */
static int sig_digits(const char *s)
{
    int n = 0;
    bool started = false;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s >= '1' && *s <= '9') {
            started = true;
        }
        if (started && *s >= '0' && *s <= '9') {
            n++;
        }
    }
    return n;
}

size_t report_num_show(double v, char out[48])
{
    char exact[32];
    size_t n = report_num_exact(v, exact);
    if (sig_digits(exact) <= 10) {
        memcpy(out, exact, n + 1);
        return n;
    }
    snprintf(out, 48, "%.10g", v);
    return strlen(out);
}

size_t report_num_mean(double v, char out[48])
{
    double a = fabs(v);
    if (a != 0 && (a >= 1e15 || a < 1e-4)) {
        snprintf(out, 48, "%.7g", v); /* exponent form for the extremes */
        return strlen(out);
    }
    {
        /* %.7g, but as a plain decimal: the digits after the point that 7
         * significant digits leave, trailing zeros dropped. */
        int exp10 = a == 0 ? 0 : (int)floor(log10(a));
        int decimals = 6 - exp10;
        size_t len;
        char tmp[64];
        if (decimals < 0) {
            decimals = 0;
        }
        snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
        /* %.*f rounds at the last decimal: when rounding carried into a new
         * digit (9999999.5), there is one digit too many; it is harmless. */
        len = strlen(tmp);
        if (strchr(tmp, '.') != NULL) {
            while (len > 0 && tmp[len - 1] == '0') {
                tmp[--len] = '\0';
            }
            if (len > 0 && tmp[len - 1] == '.') {
                tmp[--len] = '\0';
            }
        }
        if (strcmp(tmp, "-0") == 0) {
            snprintf(tmp, sizeof tmp, "0");
            len = 1;
        }
        snprintf(out, 48, "%.47s", tmp); /* the same truncation, said so for -Wformat-truncation */
        return len;
    }
}
