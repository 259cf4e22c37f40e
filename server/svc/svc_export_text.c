/* README.txt's words in the seven portal languages (svc_export_internal.h):
 * what a ZIP of CSV files holds, told to the person who asked for it in
 * their language. The CSV files themselves keep their one header word
 * "Time" and the special values' words (+OVER, -OVER, BREAK, ERROR) in
 * every language: the README names them as they are written. Terms as the
 * portal says them (portal/i18n: instrument, key, measurement group,
 * expression). */
#include "alarm_msg.h"
#include "svc_export_internal.h"

static const export_words words[ALARM_LANGS] = {
    /* zh-CN */
    {
        "Metron 数据导出（编号 %lld）",
        "时间段：%s – %s（%s，不含结束时间）",
        "时间段：%s（%s）– %s（%s），不含结束时间",
        "Time 列的时区：%s",
        "%s / %s（夏令时）",
        "%s（在此时间段内有变化）",
        "创建时间：%s（%s）",
        "每台仪器对应一个 CSV 文件，包含该仪器的通道；运算通道在 computed.csv 中。\n"
        "文件采用带字节顺序标记（BOM）的 UTF-8 编码，字段以逗号分隔，换行符为 CRLF。\n"
        "需要时，字段按 RFC 4180 的规定用双引号括起。\n"
        "\n"
        "- 第 1 行是列标题：先是“Time”，然后每个通道一列，标题为“名称 [单位]”。\n"
        "- 之后的每一行对应一个时刻，即文件中至少有一个通道有值的时刻，按时间顺序排列。\n"
        "- Time 列：上述时区的当地时间，附带与 UTC 的时差，\n"
        "  采用 ISO 8601 格式 YYYY-MM-DDThh:mm:ss+hh:mm（有不足一秒的部分时一并写出）。\n"
        "- 数值：十进制数，位数足以精确还原所存储的值。\n"
        "  特殊值用以下单词表示：+OVER（超出量程上限）、-OVER（超出量程下限）、\n"
        "  BREAK（传感器断线）、ERROR（计算错误）。\n"
        "  空单元格表示该通道在该时刻没有值（或为缺失值）。\n"
        "- 电子表格软件会当作公式读取的名称（以 =、+、-、@ 开头），前面加了一个撇号。\n",
        "文件和列",
        "仪器：型号 %s，序列号 %s",
        "，名称“%s”",
        "，应用“%s”",
        "运算通道",
        "第 1 列：Time",
        "第 %zu 列：“%s”",
        "，单位 %s",
        "，无单位",
        "，标识 %s",
        "，测量组“%s”",
        "，表达式 %s",
        "（通道 ID %lld）",
    },
    /* ja */
    {
        "Metron データエクスポート（No. %lld）",
        "期間：%s ～ %s（%s、終了時刻は含みません）",
        "期間：%s（%s）～ %s（%s）、終了時刻は含みません",
        "Time 列のタイムゾーン：%s",
        "%s / %s（夏時間）",
        "%s（期間中に変わります）",
        "作成日時：%s（%s）",
        "計測器ごとに 1 つの CSV ファイルがあり、その計測器のチャネルが入っています。\n"
        "演算チャネルは computed.csv に入っています。\n"
        "文字コードは BOM 付きの UTF-8、区切りはカンマ、改行は CRLF です。\n"
        "必要なフィールドは RFC 4180 のとおりダブルクォートで囲んでいます。\n"
        "\n"
        "- 1 行目は列の見出しです。「Time」に続いて、チャネルごとに「名前 [単位]」が並びます。\n"
        "- 2 行目以降は、ファイル内のいずれかのチャネルに値がある時刻ごとに 1 行で、\n"
        "  時刻順に並んでいます。\n"
        "- Time 列：上記のタイムゾーンの現地時刻を、UTC との時差を付けて\n"
        "  ISO 8601 形式 YYYY-MM-DDThh:mm:ss+hh:mm で書いています\n"
        "  （1 秒未満の部分があるときはその桁も書きます）。\n"
        "- 値：保存されている値を正確に読み戻せる桁数の 10 進数です。\n"
        "  特殊値は次の語で表しています：+OVER（レンジオーバー、上側）、\n"
        "  -OVER（レンジオーバー、下側）、BREAK（断線）、ERROR（演算エラー）。\n"
        "  空欄は、その時刻にそのチャネルの値がない（または欠測である）ことを表します。\n"
        "- 表計算ソフトが数式と解釈する名前（=、+、-、@ で始まるもの）は、\n"
        "  先頭にアポストロフィを付けて書いています。\n",
        "ファイルと列",
        "計測器：機種 %s、シリアル番号 %s",
        "、名前「%s」",
        "、アプリ「%s」",
        "演算チャネル",
        "1 列目：Time",
        "%zu 列目：「%s」",
        "、単位 %s",
        "、単位なし",
        "、キー %s",
        "、計測グループ「%s」",
        "、式 %s",
        "（チャネル ID %lld）",
    },
    /* en */
    {
        "Metron data export no. %lld",
        "Period: %s to %s (%s), not including the end",
        "Period: %s (%s) to %s (%s), not including the end",
        "Time zone of the Time column: %s",
        "%s / %s (summer time)",
        "%s (it changes within the period)",
        "Created: %s (%s)",
        "There is one CSV file for each instrument, with that instrument's channels;\n"
        "computed channels are in computed.csv. The files are in UTF-8 with a byte\n"
        "order mark (BOM), with commas between the fields and CRLF line ends. A\n"
        "field is put in double quotes where it needs them, as RFC 4180 describes.\n"
        "\n"
        "- Row 1 holds the column titles: “Time”, then one title for each channel,\n"
        "  “name [unit]”.\n"
        "- Every further row is one time at which at least one of the file's\n"
        "  channels has a value, in time order.\n"
        "- Time column: the local time in the time zone above, with its UTC offset,\n"
        "  in the ISO 8601 form YYYY-MM-DDThh:mm:ss+hh:mm (with fractions of a\n"
        "  second where there are some).\n"
        "- Values: decimal numbers with every digit needed to read back the stored\n"
        "  value exactly. Special values are written as words: +OVER (above the\n"
        "  measuring range), -OVER (below the measuring range), BREAK (sensor\n"
        "  break), ERROR (calculation error). An empty cell means that the channel\n"
        "  has no value at that time, or that its value is missing.\n"
        "- A name that a spreadsheet would read as a formula (one starting with =,\n"
        "  +, - or @) is written with an apostrophe in front.\n",
        "Files and columns",
        "Instrument: model %s, serial number %s",
        ", name “%s”",
        ", app “%s”",
        "Computed channels",
        "Column 1: Time",
        "Column %zu: “%s”",
        ", unit %s",
        ", no unit",
        ", key %s",
        ", measurement group “%s”",
        ", expression %s",
        " (channel ID %lld)",
    },
    /* es */
    {
        "Exportación de datos de Metron n.º %lld",
        "Periodo: del %s al %s (%s), sin incluir el final",
        "Periodo: del %s (%s) al %s (%s), sin incluir el final",
        "Zona horaria de la columna Time: %s",
        "%s / %s (horario de verano)",
        "%s (cambia dentro del periodo)",
        "Fecha de creación: %s (%s)",
        "Hay un archivo CSV por instrumento, con los canales de ese instrumento;\n"
        "los canales calculados están en computed.csv. Los archivos están en UTF-8\n"
        "con marca de orden de bytes (BOM), con los campos separados por comas y\n"
        "finales de línea CRLF. Cuando hace falta, un campo va entre comillas\n"
        "dobles, como indica la RFC 4180.\n"
        "\n"
        "- La fila 1 contiene los títulos de las columnas: «Time» y después un\n"
        "  título por canal, «nombre [unidad]».\n"
        "- Cada fila siguiente corresponde a un instante en el que al menos uno de\n"
        "  los canales del archivo tiene un valor, en orden cronológico.\n"
        "- Columna Time: la hora local en la zona horaria indicada arriba, con su\n"
        "  diferencia respecto a UTC, en el formato ISO 8601\n"
        "  YYYY-MM-DDThh:mm:ss+hh:mm (con fracciones de segundo cuando las hay).\n"
        "- Valores: números decimales con todas las cifras necesarias para\n"
        "  recuperar exactamente el valor almacenado. Los valores especiales se\n"
        "  escriben como palabras: +OVER (por encima del rango de medida), -OVER\n"
        "  (por debajo del rango de medida), BREAK (sensor interrumpido), ERROR\n"
        "  (error de cálculo). Una celda vacía significa que el canal no tiene\n"
        "  valor en ese instante o que su valor falta.\n"
        "- Un nombre que una hoja de cálculo leería como una fórmula (uno que\n"
        "  empieza por =, +, - o @) se escribe precedido de un apóstrofo.\n",
        "Archivos y columnas",
        "Instrumento: modelo %s, número de serie %s",
        ", nombre «%s»",
        ", aplicación «%s»",
        "Canales calculados",
        "Columna 1: Time",
        "Columna %zu: «%s»",
        ", unidad %s",
        ", sin unidad",
        ", clave %s",
        ", grupo de medición «%s»",
        ", expresión %s",
        " (ID de canal %lld)",
    },
    /* fr */
    {
        "Export de données Metron n° %lld",
        "Période : du %s au %s (%s), fin non comprise",
        "Période : du %s (%s) au %s (%s), fin non comprise",
        "Fuseau horaire de la colonne Time : %s",
        "%s / %s (heure d’été)",
        "%s (il change au cours de la période)",
        "Date de création : %s (%s)",
        "Il y a un fichier CSV par instrument, avec les voies de cet instrument ;\n"
        "les voies calculées sont dans computed.csv. Les fichiers sont en UTF-8\n"
        "avec indicateur d’ordre des octets (BOM), les champs séparés par des\n"
        "virgules et les fins de ligne en CRLF. Un champ est mis entre guillemets\n"
        "doubles lorsqu’il le faut, comme le décrit la RFC 4180.\n"
        "\n"
        "- La ligne 1 contient les titres des colonnes : « Time », puis un titre\n"
        "  par voie, « nom [unité] ».\n"
        "- Chaque ligne suivante correspond à un instant où au moins une des voies\n"
        "  du fichier a une valeur, dans l’ordre chronologique.\n"
        "- Colonne Time : l’heure locale dans le fuseau horaire indiqué plus haut,\n"
        "  avec son décalage par rapport à UTC, au format ISO 8601\n"
        "  YYYY-MM-DDThh:mm:ss+hh:mm (avec les fractions de seconde s’il y en a).\n"
        "- Valeurs : nombres décimaux avec tous les chiffres nécessaires pour\n"
        "  relire exactement la valeur enregistrée. Les valeurs spéciales sont\n"
        "  écrites sous forme de mots : +OVER (au-dessus de la plage de mesure),\n"
        "  -OVER (au-dessous de la plage de mesure), BREAK (rupture de capteur),\n"
        "  ERROR (erreur de calcul). Une cellule vide signifie que la voie n’a pas\n"
        "  de valeur à cet instant, ou que sa valeur manque.\n"
        "- Un nom qu’un tableur lirait comme une formule (un nom commençant par =,\n"
        "  +, - ou @) est écrit précédé d’une apostrophe.\n",
        "Fichiers et colonnes",
        "Instrument : modèle %s, numéro de série %s",
        ", nom « %s »",
        ", application « %s »",
        "Voies calculées",
        "Colonne 1 : Time",
        "Colonne %zu : « %s »",
        ", unité %s",
        ", sans unité",
        ", clé %s",
        ", groupe de mesure « %s »",
        ", expression %s",
        " (ID de voie %lld)",
    },
    /* de */
    {
        "Metron-Datenexport Nr. %lld",
        "Zeitraum: %s bis %s (%s), ohne den Endzeitpunkt",
        "Zeitraum: %s (%s) bis %s (%s), ohne den Endzeitpunkt",
        "Zeitzone der Spalte Time: %s",
        "%s / %s (Sommerzeit)",
        "%s (sie ändert sich im Zeitraum)",
        "Erstellt: %s (%s)",
        "Für jedes Gerät gibt es eine CSV-Datei mit dessen Kanälen; berechnete\n"
        "Kanäle stehen in computed.csv. Die Dateien sind in UTF-8 mit\n"
        "Byte-Order-Mark (BOM) kodiert, die Felder sind durch Kommas getrennt,\n"
        "die Zeilen enden mit CRLF. Wo nötig, steht ein Feld in doppelten\n"
        "Anführungszeichen, wie in RFC 4180 beschrieben.\n"
        "\n"
        "- Zeile 1 enthält die Spaltenüberschriften: „Time“, danach je Kanal\n"
        "  „Name [Einheit]“.\n"
        "- Jede weitere Zeile steht für einen Zeitpunkt, zu dem mindestens ein\n"
        "  Kanal der Datei einen Wert hat, in zeitlicher Reihenfolge.\n"
        "- Spalte Time: die Ortszeit in der oben genannten Zeitzone mit ihrem\n"
        "  Abstand zu UTC, im Format nach ISO 8601: YYYY-MM-DDThh:mm:ss+hh:mm\n"
        "  (mit Sekundenbruchteilen, falls vorhanden).\n"
        "- Werte: Dezimalzahlen mit so vielen Stellen, dass sich der gespeicherte\n"
        "  Wert genau zurücklesen lässt. Sonderwerte werden als Wörter geschrieben:\n"
        "  +OVER (oberhalb des Messbereichs), -OVER (unterhalb des Messbereichs),\n"
        "  BREAK (Fühlerbruch), ERROR (Rechenfehler). Eine leere Zelle bedeutet,\n"
        "  dass der Kanal zu diesem Zeitpunkt keinen Wert hat oder sein Wert fehlt.\n"
        "- Namen, die eine Tabellenkalkulation als Formel lesen würde (solche, die\n"
        "  mit =, +, - oder @ beginnen), erhalten einen vorangestellten Apostroph.\n",
        "Dateien und Spalten",
        "Gerät: Modell %s, Seriennummer %s",
        ", Name „%s“",
        ", App „%s“",
        "Berechnete Kanäle",
        "Spalte 1: Time",
        "Spalte %zu: „%s“",
        ", Einheit %s",
        ", ohne Einheit",
        ", Kennung %s",
        ", Messgruppe „%s“",
        ", Ausdruck %s",
        " (Kanal-ID %lld)",
    },
    /* it */
    {
        "Esportazione dati Metron n. %lld",
        "Periodo: dal %s al %s (%s), fine esclusa",
        "Periodo: dal %s (%s) al %s (%s), fine esclusa",
        "Fuso orario della colonna Time: %s",
        "%s / %s (ora legale)",
        "%s (cambia durante il periodo)",
        "Data di creazione: %s (%s)",
        "C’è un file CSV per ogni strumento, con i canali di quello strumento;\n"
        "i canali calcolati sono in computed.csv. I file sono in UTF-8 con\n"
        "indicatore dell’ordine dei byte (BOM), con i campi separati da virgole e\n"
        "fine riga CRLF. Quando serve, un campo è racchiuso tra virgolette doppie,\n"
        "come descritto nella RFC 4180.\n"
        "\n"
        "- La riga 1 contiene i titoli delle colonne: «Time», poi un titolo per\n"
        "  canale, «nome [unità]».\n"
        "- Ogni riga successiva corrisponde a un istante in cui almeno uno dei\n"
        "  canali del file ha un valore, in ordine cronologico.\n"
        "- Colonna Time: l’ora locale nel fuso orario indicato sopra, con la sua\n"
        "  differenza rispetto a UTC, nel formato ISO 8601\n"
        "  YYYY-MM-DDThh:mm:ss+hh:mm (con le frazioni di secondo, se presenti).\n"
        "- Valori: numeri decimali con tutte le cifre necessarie a rileggere\n"
        "  esattamente il valore memorizzato. I valori speciali sono scritti come\n"
        "  parole: +OVER (sopra il campo di misura), -OVER (sotto il campo di\n"
        "  misura), BREAK (sensore interrotto), ERROR (errore di calcolo). Una\n"
        "  cella vuota indica che il canale non ha un valore in quell’istante,\n"
        "  oppure che il valore manca.\n"
        "- Un nome che un foglio di calcolo leggerebbe come formula (un nome che\n"
        "  inizia con =, +, - o @) è scritto preceduto da un apostrofo.\n",
        "File e colonne",
        "Strumento: modello %s, numero di serie %s",
        ", nome «%s»",
        ", app «%s»",
        "Canali calcolati",
        "Colonna 1: Time",
        "Colonna %zu: «%s»",
        ", unità %s",
        ", senza unità",
        ", chiave %s",
        ", gruppo di misura «%s»",
        ", espressione %s",
        " (ID canale %lld)",
    },
};

const export_words *export_words_of(const char *lang)
{
    int i = alarm_lang_index(lang);
    return &words[i >= 0 ? i : alarm_lang_index("en")];
}
