/* The words of alarm notifications and server notices (see alarm_msg.h).
 * One table per language; every sentence takes its arguments in the same
 * order in every language (the sentences are built around that). */
#define _POSIX_C_SOURCE 200809L
#include "alarm_msg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mt/types.h"

const char *const alarm_langs[ALARM_LANGS] = {"zh-CN", "ja", "en", "es", "fr", "de", "it"};

int alarm_lang_index(const char *lang)
{
    for (int i = 0; lang != NULL && i < ALARM_LANGS; i++) {
        if (strcmp(lang, alarm_langs[i]) == 0) {
            return i;
        }
    }
    return -1;
}

typedef struct {
    /* titles: %s = the rule's name (app name, date, percent as noted) */
    const char *t_raise_alert, *t_raise_warning, *t_clear, *t_repeat, *t_no_data, *t_data_back,
        *t_special, *t_special_end;
    /* bodies */
    const char *b_raise;       /* rule, time, zone ("UTC+09:00") */
    const char *b_clear;       /* rule, time, zone ("UTC+09:00") */
    const char *b_repeat;      /* rule, time, zone ("UTC+09:00") (of the raise) */
    const char *b_no_data;     /* rule, time, zone ("UTC+09:00"), minutes */
    const char *b_data_back;   /* rule, time, zone ("UTC+09:00") */
    const char *b_special;     /* rule, channel, special name, time, zone ("UTC+09:00") */
    const char *b_special_end; /* rule, channel, time, zone ("UTC+09:00") */
    /* field names */
    const char *f_group, *f_condition, *f_time;
    const char *link_label;
    const char *sv[6]; /* special-value names by mt_sv (0 unused) */
    /* S6 */
    const char *t_app_down, *t_app_up;
    const char *b_app_down;     /* app, time, zone ("UTC+09:00"), minutes */
    const char *b_app_down_app; /* app, time, zone ("UTC+09:00") */
    const char *b_app_up;       /* app, time, zone ("UTC+09:00") */
    const char *f_app;
    /* S7: title %d percent; body: account, used, limit, percent */
    const char *t_storage, *b_storage;
    /* S9: title %s date; body: plan, account, date, days / plan, account, date */
    const char *t_licence, *t_licence_expired, *b_licence, *b_licence_expired;
    /* R6: title %s rule; body: file, rule, count, time, zone ("UTC+09:00") */
    const char *t_file, *b_file, *f_file;
    /* S8: title %s deadline; body: account, used, limit, deadline /
     * title; body: account, limit, all bytes, data bytes, drive files (%lld),
     * drive bytes, report files (%lld), pictures (%lld), picture bytes,
     * files shared with the apps (%lld, K1-K3), their bytes */
    const char *t_over, *b_over, *t_over_deleted, *b_over_deleted;
    /* R6 met once: file, rule, count (1), time, zone ("UTC+09:00") */
    const char *b_file_one;
} words_table;

static const words_table tables[ALARM_LANGS] = {
    /* zh-CN */
    {"[报警] %s", "[警告] %s", "[已解除] %s", "[仍在报警] %s", "[无数据] %s", "[数据恢复] %s",
     "[特殊值] %s", "[特殊值结束] %s",
     "报警“%s”于 %s（%s）发生。",
     "报警“%s”于 %s（%s）解除。",
     "报警“%s”仍在持续（自 %s，%s 起）。",
     "报警“%s”于 %s（%s）发生：已 %d 分钟没有数据。",
     "报警“%s”于 %s（%s）解除：数据已恢复。",
     "报警“%s”：%s 出现%s，自 %s（%s）起。",
     "报警“%s”：%s 自 %s（%s）起恢复为数值。",
     "测量组", "条件", "时间",
     "在 Metron 中打开（仅查看，30 分钟有效）",
     {"", "缺失值", "超出量程上限（+OVER）", "超出量程下限（-OVER）", "传感器断线", "计算错误"},
     "[已断开] %s", "[已连接] %s",
     "应用“%s”自 %s（%s）起没有发送数据，%d 分钟无数据视为断开。",
     "应用“%s”于 %s（%s）断开连接。",
     "应用“%s”自 %s（%s）起重新发送数据。",
     "应用",
     "[存储] 剩余 %d%%",
     "账户“%s”已使用 %s，共 %s：存储空间仅剩 %d%%。请删除数据或文件，或更改套餐。",
     "[许可证] 将于 %s 到期", "[许可证] 已于 %s 到期",
     "账户“%2$s”的 %1$s 许可证将于 %3$s 到期（剩余 %4$d 天）。请续订以保留其功能和数据。",
     "账户“%2$s”的 %1$s 许可证已于 %3$s 到期：该账户现按 Free 套餐运行。",
     "[文件报警] %s", "文件“%s”满足报警“%s”的条件 %d 次，首次于 %s（%s）。", "文件",
     "[存储] 超出配额：数据将于 %s 删除",
     "账户“%s”已使用 %s，超出 %s 的存储配额。如果到 %s 仍超出配额，其存储的全部数据（采集数据、云盘文件、报告文件、仪表板图片和与应用共享的文件）将被删除。请删除数据或文件，或更改套餐。",
     "[存储] 存储的数据已删除",
     "账户“%s”超出存储配额（%s）已达 31 天：其存储的全部数据已被删除，共 %s。采集数据：%s。云盘文件：%lld 个（%s），其中报告文件 %lld 个。仪表板图片：%lld 张（%s）。与应用共享的文件：%lld 个（%s）。文件夹、通道、设备、仪表板和设置均保留。",
     "文件“%s”满足报警“%s”的条件 %d 次，于 %s（%s）。"},
    /* ja */
    {"[アラーム] %s", "[警告] %s", "[解除] %s", "[継続中] %s", "[データなし] %s",
     "[データ再開] %s", "[特殊値] %s", "[特殊値終了] %s",
     "アラーム「%s」が %s（%s）に発生しました。",
     "アラーム「%s」が %s（%s）に解除されました。",
     "アラーム「%s」は継続中です（%s（%s）から）。",
     "アラーム「%s」が %s（%s）に発生しました：%d 分間データがありません。",
     "アラーム「%s」が %s（%s）に解除されました：データが再び届いています。",
     "アラーム「%s」：%s が %s になりました（%s、%s）。",
     "アラーム「%s」：%s が %s（%s）に数値に戻りました。",
     "計測グループ", "条件", "日時",
     "Metron で開く（閲覧のみ、30 分間有効）",
     {"", "欠測", "レンジオーバー（+OVER）", "レンジオーバー（-OVER）", "断線", "演算エラー"},
     "[切断] %s", "[接続] %s",
     "アプリ「%s」は %s（%s）からデータを送信していません。%d 分間データがないと切断とみなします。",
     "アプリ「%s」は %s（%s）に切断しました。",
     "アプリ「%s」は %s（%s）から再びデータを送信しています。",
     "アプリ",
     "[ストレージ] 残り %d%%",
     "アカウント「%s」は %s / %s を使用中です：ストレージの残りは %d%% です。データやファイルを削除するか、プランを変更してください。",
     "[ライセンス] %s に期限切れ", "[ライセンス] %s に期限切れになりました",
     "アカウント「%2$s」の %1$s ライセンスは %3$s に期限が切れます（残り %4$d 日）。機能とデータを維持するには更新してください。",
     "アカウント「%2$s」の %1$s ライセンスは %3$s に期限が切れました：このアカウントは Free プランとして動作します。",
     "[ファイルアラーム] %s", "ファイル「%s」はアラーム「%s」の条件を %d 回満たしました（最初は %s、%s）。", "ファイル",
     "[ストレージ] 容量超過：データは %s に削除されます",
     "アカウント「%s」は %s を使用しており、ストレージ容量 %s を超えています。%s までに容量内に戻らない場合、保存されているデータ（収集データ、ドライブのファイル、レポートのファイル、ダッシュボードの画像、アプリと共有したファイル）はすべて削除されます。データやファイルを削除するか、プランを変更してください。",
     "[ストレージ] 保存データを削除しました",
     "アカウント「%s」はストレージ容量（%s）を 31 日間超過していたため、保存されていたデータをすべて削除しました（合計 %s）。収集データ：%s。ドライブのファイル：%lld 件（%s）、うちレポートのファイル %lld 件。ダッシュボードの画像：%lld 件（%s）。アプリと共有したファイル：%lld 件（%s）。フォルダー、チャネル、機器、ダッシュボード、設定は残ります。",
     "ファイル「%s」はアラーム「%s」の条件を %d 回満たしました（%s、%s）。"},
    /* en */
    {"[Alarm] %s", "[Warning] %s", "[Cleared] %s", "[Still raised] %s", "[No data] %s",
     "[Data again] %s", "[Special value] %s", "[Special value ended] %s",
     "The alarm \"%s\" was raised at %s (%s).",
     "The alarm \"%s\" cleared at %s (%s).",
     "The alarm \"%s\" is still raised (since %s, %s).",
     "The alarm \"%s\" was raised at %s (%s): no data for %d minutes.",
     "The alarm \"%s\" cleared at %s (%s): data arrives again.",
     "The alarm \"%s\": %s shows %s since %s (%s).",
     "The alarm \"%s\": %s shows numbers again since %s (%s).",
     "Group", "Condition", "Time",
     "Open in Metron (view only, 30 minutes)",
     {"", "missing value", "over range (+OVER)", "under range (-OVER)", "sensor break",
      "calculation error"},
     "[Disconnected] %s", "[Connected] %s",
     "The app \"%s\" has sent nothing since %s (%s); it counts as disconnected after %d minutes "
     "without data.",
     "The app \"%s\" disconnected at %s (%s).",
     "The app \"%s\" is sending again since %s (%s).",
     "App",
     "[Storage] %d%% left",
     "The account \"%s\" uses %s of %s: %d%% of its storage is left. Delete data or files, or "
     "change the plan.",
     "[Licence] expires on %s", "[Licence] expired on %s",
     "The %s licence of the account \"%s\" expires on %s (%d days left). Renew it to keep its "
     "functions and data.",
     "The %s licence of the account \"%s\" expired on %s: the account now works with the Free "
     "plan.",
     "[File alarm] %s", "The file \"%s\" meets the alarm \"%s\" %d times, first at %s (%s).", "File",
     "[Storage] Over quota: data will be deleted on %s",
     "Account \"%s\" uses %s of its %s storage quota. Unless it is below the quota by %s, everything it stores (acquired data, drive files, report files, dashboard pictures and files shared with the apps) will be deleted. Delete data or files, or change the plan.",
     "[Storage] Stored data deleted",
     "Account \"%s\" was over its storage quota (%s) for 31 days: everything it stored has been deleted, %s in all. Acquired data: %s. Drive files: %lld (%s), of which report files: %lld. Dashboard pictures: %lld (%s). Files shared with the apps: %lld (%s). Folders, channels, devices, dashboards and settings are kept.",
     "The file \"%s\" meets the alarm \"%s\" %d time, at %s (%s)."},
    /* es */
    {"[Alarma] %s", "[Aviso] %s", "[Resuelta] %s", "[Sigue activa] %s", "[Sin datos] %s",
     "[Datos de nuevo] %s", "[Valor especial] %s", "[Fin del valor especial] %s",
     "La alarma «%s» se activó el %s (%s).",
     "La alarma «%s» se resolvió el %s (%s).",
     "La alarma «%s» sigue activa (desde el %s, %s).",
     "La alarma «%s» se activó el %s (%s): sin datos durante %d minutos.",
     "La alarma «%s» se resolvió el %s (%s): vuelven a llegar datos.",
     "La alarma «%s»: %s muestra %s desde el %s (%s).",
     "La alarma «%s»: %s vuelve a mostrar números desde el %s (%s).",
     "Grupo", "Condición", "Hora",
     "Abrir en Metron (solo lectura, 30 minutos)",
     {"", "valor ausente", "fuera de rango (+OVER)", "bajo el rango (-OVER)",
      "sensor interrumpido", "error de cálculo"},
     "[Desconectada] %s", "[Conectada] %s",
     "La aplicación «%s» no envía nada desde el %s (%s); se considera desconectada tras %d "
     "minutos sin datos.",
     "La aplicación «%s» se desconectó el %s (%s).",
     "La aplicación «%s» vuelve a enviar datos desde el %s (%s).",
     "Aplicación",
     "[Almacenamiento] queda un %d%%",
     "La cuenta «%s» usa %s de %s: le queda un %d%% del almacenamiento. Elimine datos o "
     "archivos, o cambie de plan.",
     "[Licencia] vence el %s", "[Licencia] venció el %s",
     "La licencia %s de la cuenta «%s» vence el %s (quedan %d días). Renuévela para conservar "
     "sus funciones y datos.",
     "La licencia %s de la cuenta «%s» venció el %s: la cuenta funciona ahora con el plan Free.",
     "[Alarma de archivo] %s", "El archivo «%s» cumple la alarma «%s» %d veces, la primera el %s (%s).", "Archivo",
     "[Almacenamiento] Cuota superada: los datos se eliminarán el %s",
     "La cuenta «%s» usa %s de su cuota de almacenamiento de %s. Si el %s sigue por encima de la cuota, se eliminará todo lo que almacena (datos adquiridos, archivos, archivos de informes, imágenes de paneles y archivos compartidos con las apps). Elimine datos o archivos, o cambie de plan.",
     "[Almacenamiento] Datos almacenados eliminados",
     "La cuenta «%s» superó su cuota de almacenamiento (%s) durante 31 días: se ha eliminado todo lo que almacenaba, %s en total. Datos adquiridos: %s. Archivos: %lld (%s), de ellos archivos de informes: %lld. Imágenes de paneles: %lld (%s). Archivos compartidos con las apps: %lld (%s). Se conservan las carpetas, los canales, los dispositivos, los paneles y la configuración.",
     "El archivo «%s» cumple la alarma «%s» %d vez, el %s (%s)."},
    /* fr */
    {"[Alarme] %s", "[Avertissement] %s", "[Levée] %s", "[Toujours active] %s",
     "[Aucune donnée] %s", "[Données de retour] %s", "[Valeur spéciale] %s",
     "[Fin de valeur spéciale] %s",
     "L’alarme « %s » s’est déclenchée le %s (%s).",
     "L’alarme « %s » a été levée le %s (%s).",
     "L’alarme « %s » est toujours active (depuis le %s, %s).",
     "L’alarme « %s » s’est déclenchée le %s (%s) : aucune donnée depuis %d minutes.",
     "L’alarme « %s » a été levée le %s (%s) : les données arrivent de nouveau.",
     "L’alarme « %s » : %s indique %s depuis le %s (%s).",
     "L’alarme « %s » : %s indique de nouveau des nombres depuis le %s (%s).",
     "Groupe", "Condition", "Heure",
     "Ouvrir dans Metron (lecture seule, 30 minutes)",
     {"", "valeur manquante", "hors plage (+OVER)", "sous la plage (-OVER)",
      "rupture de capteur", "erreur de calcul"},
     "[Déconnectée] %s", "[Connectée] %s",
     "L’application « %s » n’envoie plus rien depuis le %s (%s) ; elle est considérée comme "
     "déconnectée après %d minutes sans données.",
     "L’application « %s » s’est déconnectée le %s (%s).",
     "L’application « %s » envoie de nouveau des données depuis le %s (%s).",
     "Application",
     "[Stockage] %d %% restant",
     "Le compte « %s » utilise %s sur %s : il reste %d %% de son stockage. Supprimez des "
     "données ou des fichiers, ou changez d’offre.",
     "[Licence] expire le %s", "[Licence] expirée le %s",
     "La licence %s du compte « %s » expire le %s (%d jours restants). Renouvelez-la pour "
     "conserver ses fonctions et ses données.",
     "La licence %s du compte « %s » a expiré le %s : le compte fonctionne désormais avec "
     "l’offre Free.",
     "[Alarme de fichier] %s", "Le fichier « %s » remplit l’alarme « %s » %d fois, la première le %s (%s).", "Fichier",
     "[Stockage] Quota dépassé : les données seront supprimées le %s",
     "Le compte « %s » utilise %s de son quota de stockage de %s. S’il dépasse encore le quota le %s, tout ce qu’il stocke (données acquises, fichiers, fichiers de rapports, images de tableaux de bord et fichiers partagés avec les applis) sera supprimé. Supprimez des données ou des fichiers, ou changez de formule.",
     "[Stockage] Données stockées supprimées",
     "Le compte « %s » a dépassé son quota de stockage (%s) pendant 31 jours : tout ce qu’il stockait a été supprimé, %s au total. Données acquises : %s. Fichiers : %lld (%s), dont fichiers de rapports : %lld. Images de tableaux de bord : %lld (%s). Fichiers partagés avec les applis : %lld (%s). Les dossiers, canaux, appareils, tableaux de bord et réglages sont conservés.",
     "Le fichier « %s » remplit l’alarme « %s » %d fois, le %s (%s)."},
    /* de */
    {"[Alarm] %s", "[Warnung] %s", "[Aufgehoben] %s", "[Weiterhin aktiv] %s",
     "[Keine Daten] %s", "[Wieder Daten] %s", "[Sonderwert] %s", "[Sonderwert beendet] %s",
     "Der Alarm „%s“ wurde am %s (%s) ausgelöst.",
     "Der Alarm „%s“ wurde am %s (%s) aufgehoben.",
     "Der Alarm „%s“ ist weiterhin aktiv (seit %s, %s).",
     "Der Alarm „%s“ wurde am %s (%s) ausgelöst: seit %d Minuten keine Daten.",
     "Der Alarm „%s“ wurde am %s (%s) aufgehoben: es kommen wieder Daten.",
     "Der Alarm „%s“: %s zeigt %s seit %s (%s).",
     "Der Alarm „%s“: %s zeigt wieder Zahlen seit %s (%s).",
     "Gruppe", "Bedingung", "Zeit",
     "In Metron öffnen (nur ansehen, 30 Minuten)",
     {"", "fehlender Wert", "Bereichsüberschreitung (+OVER)", "Bereichsunterschreitung (-OVER)",
      "Fühlerbruch", "Rechenfehler"},
     "[Getrennt] %s", "[Verbunden] %s",
     "Die App „%s“ sendet seit %s (%s) nichts mehr; nach %d Minuten ohne Daten gilt sie als "
     "getrennt.",
     "Die App „%s“ hat sich am %s (%s) getrennt.",
     "Die App „%s“ sendet seit %s (%s) wieder Daten.",
     "App",
     "[Speicher] %d %% frei",
     "Das Konto „%s“ belegt %s von %s: %d %% des Speichers sind frei. Löschen Sie Daten oder "
     "Dateien oder wechseln Sie den Tarif.",
     "[Lizenz] läuft am %s ab", "[Lizenz] am %s abgelaufen",
     "Die %s-Lizenz des Kontos „%s“ läuft am %s ab (noch %d Tage). Verlängern Sie sie, um "
     "Funktionen und Daten zu behalten.",
     "Die %s-Lizenz des Kontos „%s“ ist am %s abgelaufen: das Konto arbeitet jetzt mit dem "
     "Tarif Free.",
     "[Dateialarm] %s", "Die Datei „%s“ erfüllt den Alarm „%s“ %d-mal, zuerst am %s (%s).", "Datei",
     "[Speicher] Kontingent überschritten: Daten werden am %s gelöscht",
     "Das Konto „%s“ belegt %s seines Speicherkontingents von %s. Liegt es am %s noch darüber, wird alles Gespeicherte gelöscht (erfasste Daten, Dateien der Ablage, Berichtsdateien, Bilder von Dashboards und mit den Apps geteilte Dateien). Löschen Sie Daten oder Dateien oder wechseln Sie den Tarif.",
     "[Speicher] Gespeicherte Daten gelöscht",
     "Das Konto „%s“ lag 31 Tage über seinem Speicherkontingent (%s): Alles Gespeicherte wurde gelöscht, insgesamt %s. Erfasste Daten: %s. Dateien der Ablage: %lld (%s), davon Berichtsdateien: %lld. Bilder von Dashboards: %lld (%s). Mit den Apps geteilte Dateien: %lld (%s). Ordner, Kanäle, Geräte, Dashboards und Einstellungen bleiben erhalten.",
     "Die Datei „%s“ erfüllt den Alarm „%s“ %d-mal, am %s (%s)."},
    /* it */
    {"[Allarme] %s", "[Avviso] %s", "[Rientrato] %s", "[Ancora attivo] %s", "[Nessun dato] %s",
     "[Dati di nuovo] %s", "[Valore speciale] %s", "[Fine valore speciale] %s",
     "L’allarme «%s» è scattato il %s (%s).",
     "L’allarme «%s» è rientrato il %s (%s).",
     "L’allarme «%s» è ancora attivo (dal %s, %s).",
     "L’allarme «%s» è scattato il %s (%s): nessun dato da %d minuti.",
     "L’allarme «%s» è rientrato il %s (%s): i dati arrivano di nuovo.",
     "L’allarme «%s»: %s indica %s dal %s (%s).",
     "L’allarme «%s»: %s indica di nuovo numeri dal %s (%s).",
     "Gruppo", "Condizione", "Ora",
     "Apri in Metron (sola lettura, 30 minuti)",
     {"", "valore mancante", "fuori scala (+OVER)", "sotto scala (-OVER)", "sensore interrotto",
      "errore di calcolo"},
     "[Disconnessa] %s", "[Connessa] %s",
     "L’app «%s» non invia nulla dal %s (%s); è considerata disconnessa dopo %d minuti senza "
     "dati.",
     "L’app «%s» si è disconnessa il %s (%s).",
     "L’app «%s» invia di nuovo dati dal %s (%s).",
     "App",
     "[Spazio] %d%% libero",
     "L’account «%s» usa %s su %s: resta il %d%% dello spazio. Elimina dati o file, oppure "
     "cambia piano.",
     "[Licenza] scade il %s", "[Licenza] scaduta il %s",
     "La licenza %s dell’account «%s» scade il %s (mancano %d giorni). Rinnovala per "
     "mantenerne funzioni e dati.",
     "La licenza %s dell’account «%s» è scaduta il %s: l’account ora funziona con il piano "
     "Free.",
     "[Allarme file] %s", "Il file «%s» soddisfa l’allarme «%s» %d volte, la prima il %s (%s).", "File",
     "[Archiviazione] Quota superata: i dati saranno eliminati il %s",
     "L’account «%s» usa %s della sua quota di archiviazione di %s. Se il %s è ancora oltre la quota, tutto ciò che archivia (dati acquisiti, file, file dei report, immagini delle dashboard e file condivisi con le app) sarà eliminato. Elimini dati o file, oppure cambi piano.",
     "[Archiviazione] Dati archiviati eliminati",
     "L’account «%s» ha superato la quota di archiviazione (%s) per 31 giorni: tutto ciò che archiviava è stato eliminato, %s in totale. Dati acquisiti: %s. File: %lld (%s), di cui file dei report: %lld. Immagini delle dashboard: %lld (%s). File condivisi con le app: %lld (%s). Cartelle, canali, dispositivi, dashboard e impostazioni restano.",
     "Il file «%s» soddisfa l’allarme «%s» %d volta, il %s (%s)."},
};

static const words_table *table_of(const char *lang)
{
    int i = alarm_lang_index(lang);
    return &tables[i >= 0 ? i : 2];
}

/* printf into a fixed buffer, cut at a character boundary when too long. */
static void put(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void put(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= cap) {
        /* vsnprintf() cut at cap - 1 bytes: drop a character it cut in two
         * (the last lead byte without all of its continuation bytes). */
        size_t len = cap - 1, start = len;
        while (start > 0 && ((unsigned char)buf[start - 1] & 0xc0) == 0x80) {
            start--;
        }
        if (start > 0 && (unsigned char)buf[start - 1] >= 0xc0) {
            unsigned char lead = (unsigned char)buf[start - 1];
            size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
            if (len - (start - 1) < need) {
                buf[start - 1] = '\0';
            }
        }
    }
}

void alarm_msg_value(double v, const char *unit, const char *lang, char *out, size_t cap)
{
    mt_sv k = mt_sv_kind(v);
    if (k != MT_SV_NONE) {
        put(out, cap, "%s", table_of(lang)->sv[k]);
    } else if (unit != NULL && unit[0] != '\0') {
        put(out, cap, "%.6g %s", v, unit);
    } else {
        put(out, cap, "%.6g", v);
    }
}

/* Intl's abbreviated month names (Node's ICU) where the medium date has
 * them: en, es, fr, it. */
static const char *const month_abbr[4][12] = {
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
    {"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"},
    {"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
     "déc."},
    {"gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"}};

/* The medium date of language index "li" (alarm_lang_index()). */
static void medium_date(int li, int y, int mo, int d, char *out, size_t cap)
{
    switch (li) {
    case 0: /* zh-CN */
        put(out, cap, "%d年%d月%d日", y, mo, d);
        break;
    case 1: /* ja */
        put(out, cap, "%d/%02d/%02d", y, mo, d);
        break;
    case 3: /* es */
        put(out, cap, "%d %s %d", d, month_abbr[1][mo - 1], y);
        break;
    case 4: /* fr */
        put(out, cap, "%d %s %d", d, month_abbr[2][mo - 1], y);
        break;
    case 5: /* de */
        put(out, cap, "%02d.%02d.%d", d, mo, y);
        break;
    case 6: /* it */
        put(out, cap, "%d %s %d", d, month_abbr[3][mo - 1], y);
        break;
    default: /* en */
        put(out, cap, "%s %d, %d", month_abbr[0][mo - 1], d, y);
        break;
    }
}

void alarm_msg_time(const char *local_time, const char *lang, char *out, size_t cap)
{
    int y, mo, d, h, mi, se, end = 0;
    int li = alarm_lang_index(lang);
    char date[64];
    if (local_time == NULL ||
        sscanf(local_time, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &end) != 6 ||
        local_time[end] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || se < 0 || se > 60) {
        put(out, cap, "%s", local_time != NULL ? local_time : "");
        return;
    }
    medium_date(li, y, mo, d, date, sizeof date);
    switch (li) {
    case 0: /* zh-CN */
        put(out, cap, "%s %02d:%02d:%02d", date, h, mi, se);
        break;
    case 1: /* ja */
        put(out, cap, "%s %d:%02d:%02d", date, h, mi, se);
        break;
    case 3: /* es */
        put(out, cap, "%s, %d:%02d:%02d", date, h, mi, se);
        break;
    case 4: /* fr */
    case 5: /* de */
    case 6: /* it */
        put(out, cap, "%s, %02d:%02d:%02d", date, h, mi, se);
        break;
    default: /* en */
        put(out, cap, "%s, %d:%02d:%02d %s", date, h % 12 == 0 ? 12 : h % 12, mi, se,
            h < 12 ? "AM" : "PM");
        break;
    }
}

void alarm_msg_date(const char *ymd, const char *lang, char *out, size_t cap)
{
    int y, mo, d, end = 0;
    if (ymd == NULL || sscanf(ymd, "%4d-%2d-%2d%n", &y, &mo, &d, &end) != 3 || ymd[end] != '\0' ||
        mo < 1 || mo > 12 || d < 1 || d > 31) {
        put(out, cap, "%s", ymd != NULL ? ymd : "");
        return;
    }
    medium_date(alarm_lang_index(lang), y, mo, d, out, cap);
}

void alarm_msg_utc_offset(int utc_offset, char *out, size_t cap)
{
    int a = utc_offset < 0 ? -utc_offset : utc_offset;
    /* Whole minutes (zones' offsets are, since 1972). */
    a = (a + 30) / 60;
    put(out, cap, "UTC%s%02d:%02d", utc_offset < 0 && a > 0 ? "\u2212" : "+", a / 60, a % 60);
}

/* "local_time" and its zone in "lang": the arguments of every sentence's
 * time. */
typedef struct {
    char time[64];
    char zone[24];
} when_text;

static void when_of(const char *local_time, int utc_offset, const char *lang, when_text *wt)
{
    alarm_msg_time(local_time, lang, wt->time, sizeof wt->time);
    alarm_msg_utc_offset(utc_offset, wt->zone, sizeof wt->zone);
}

/* Start "w" empty. */
static void words_init(alarm_words *w)
{
    memset(w, 0, sizeof *w);
    w->text.title = w->title;
    w->text.body = w->body;
    w->text.fields = w->fields;
}

/* Cut "s" to at most "max" characters (the outbox's field limits). */
static void cut_chars(char *s, size_t max)
{
    size_t chars = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (chars == max) {
                s[i] = '\0';
                return;
            }
            chars++;
        }
    }
}

static void add_field(alarm_words *w, const char *name, const char *value)
{
    int i = w->text.n_fields;
    if (i >= 6) {
        return;
    }
    put(w->field_names[i], sizeof w->field_names[i], "%s", name);
    put(w->field_values[i], sizeof w->field_values[i], "%s", value);
    cut_chars(w->field_names[i], NOTIFY_FIELD_NAME_MAX);
    cut_chars(w->field_values[i], NOTIFY_FIELD_VALUE_MAX);
    w->fields[i].name = w->field_names[i];
    w->fields[i].value = w->field_values[i];
    w->text.n_fields = i + 1;
}

/* A title is one line of at most 150 characters (the outbox's limit):
 * cut at a character boundary. */
static void cut_title(char *title, size_t max_chars)
{
    size_t chars = 0;
    for (size_t i = 0; title[i] != '\0'; i++) {
        if (((unsigned char)title[i] & 0xc0) != 0x80) {
            if (chars == max_chars) {
                title[i] = '\0';
                return;
            }
            chars++;
        }
        if (title[i] == '\n' || title[i] == '\r') {
            title[i] = ' ';
        }
    }
}

void alarm_msg_event(const db_alarm_event_msg *m, alarm_msg_kind kind, const char *lang,
                     const char *link, alarm_words *w)
{
    const words_table *t = table_of(lang);
    bool silence = strcmp(m->cause, "silence") == 0 ||
                   (strcmp(m->rule_text, "") != 0 && strncmp(m->rule_text, "NO DATA", 7) == 0);
    char value[2][700];
    when_text wt;
    when_of(m->local_time, m->utc_offset, lang, &wt);
    words_init(w);
    switch (kind) {
    case ALARM_MSG_RAISE:
        put(w->title, sizeof w->title,
            silence                              ? t->t_no_data
            : strcmp(m->severity, "warning") == 0 ? t->t_raise_warning
                                                  : t->t_raise_alert,
            m->rule_name);
        if (silence) {
            int minutes = 0;
            sscanf(m->rule_text, "NO DATA %dm", &minutes);
            put(w->body, sizeof w->body, t->b_no_data, m->rule_name, wt.time, wt.zone,
                minutes);
        } else {
            put(w->body, sizeof w->body, t->b_raise, m->rule_name, wt.time, wt.zone);
        }
        break;
    case ALARM_MSG_CLEAR:
        put(w->title, sizeof w->title, silence ? t->t_data_back : t->t_clear, m->rule_name);
        put(w->body, sizeof w->body, silence ? t->b_data_back : t->b_clear, m->rule_name,
            wt.time, wt.zone);
        break;
    case ALARM_MSG_REPEAT:
        put(w->title, sizeof w->title, t->t_repeat, m->rule_name);
        put(w->body, sizeof w->body, t->b_repeat, m->rule_name, wt.time, wt.zone);
        break;
    case ALARM_MSG_SPECIAL:
        put(w->title, sizeof w->title, t->t_special, m->rule_name);
        put(w->body, sizeof w->body, t->b_special, m->rule_name,
            m->ch_name[m->slot == 2 ? 1 : 0], t->sv[m->special >= 1 && m->special <= 5 ? m->special : 5],
            wt.time, wt.zone);
        break;
    case ALARM_MSG_SPECIAL_END:
        put(w->title, sizeof w->title, t->t_special_end, m->rule_name);
        put(w->body, sizeof w->body, t->b_special_end, m->rule_name,
            m->ch_name[m->slot == 2 ? 1 : 0], wt.time, wt.zone);
        break;
    }
    cut_title(w->title, NOTIFY_TITLE_MAX);
    if (m->group_name[0] != '\0') {
        add_field(w, t->f_group, m->group_name);
    }
    add_field(w, t->f_condition, m->rule_text);
    for (int i = 0; i < m->n_ch && !silence; i++) {
        char v[200];
        alarm_msg_value(m->v[i], m->ch_unit[i], lang, v, sizeof v);
        put(value[i], sizeof value[i], "%s: %s", m->ch_name[i], v);
        add_field(w, i == 0 ? "CH1" : "CH2", value[i]);
    }
    if (silence) {
        add_field(w, "CH1", m->ch_name[0]);
    }
    {
        char when[120];
        put(when, sizeof when, "%s (%s)", wt.time, wt.zone);
        add_field(w, t->f_time, when);
    }
    if (link != NULL) {
        put(w->link_label, sizeof w->link_label, "%s", t->link_label);
        w->text.link_url = link;
        w->text.link_label = w->link_label;
    }
}

void alarm_msg_app(bool connected, bool cause_app, const char *app_name, const char *group_name,
                   const char *local_time, int utc_offset, int minutes, const char *lang,
                   alarm_words *w)
{
    const words_table *t = table_of(lang);
    when_text wt;
    when_of(local_time, utc_offset, lang, &wt);
    words_init(w);
    put(w->title, sizeof w->title, connected ? t->t_app_up : t->t_app_down, app_name);
    cut_title(w->title, NOTIFY_TITLE_MAX);
    if (connected) {
        put(w->body, sizeof w->body, t->b_app_up, app_name, wt.time, wt.zone);
    } else if (cause_app) {
        put(w->body, sizeof w->body, t->b_app_down_app, app_name, wt.time, wt.zone);
    } else {
        put(w->body, sizeof w->body, t->b_app_down, app_name, wt.time, wt.zone, minutes);
    }
    add_field(w, t->f_app, app_name);
    if (group_name != NULL && group_name[0] != '\0') {
        add_field(w, t->f_group, group_name);
    }
}

/* "1.5 GB" (decimal units, as P2 counts). */
static void bytes_text(long long b, char *out, size_t cap)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    put(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", v, unit[u]);
}

void alarm_msg_storage(const char *account_name, int percent_left, long long used,
                       long long limit, const char *lang, alarm_words *w)
{
    const words_table *t = table_of(lang);
    char u[32], l[32];
    words_init(w);
    bytes_text(used, u, sizeof u);
    bytes_text(limit, l, sizeof l);
    put(w->title, sizeof w->title, t->t_storage, percent_left);
    put(w->body, sizeof w->body, t->b_storage, account_name, u, l, percent_left);
}

void alarm_msg_file(const char *file_name, const char *rule_name, const char *group_name,
                    const char *rule_text, int count, const char *local_time, int utc_offset,
                    const char *lang, const char *link, alarm_words *w)
{
    const words_table *t = table_of(lang);
    when_text wt;
    when_of(local_time, utc_offset, lang, &wt);
    words_init(w);
    put(w->title, sizeof w->title, t->t_file, rule_name);
    cut_title(w->title, NOTIFY_TITLE_MAX);
    put(w->body, sizeof w->body, count == 1 ? t->b_file_one : t->b_file, file_name, rule_name,
        count, wt.time, wt.zone);
    add_field(w, t->f_file, file_name);
    if (group_name != NULL && group_name[0] != '\0') {
        add_field(w, t->f_group, group_name);
    }
    add_field(w, t->f_condition, rule_text);
    if (link != NULL) {
        put(w->link_label, sizeof w->link_label, "%s", t->link_label);
        w->text.link_url = link;
        w->text.link_label = w->link_label;
    }
}

void alarm_msg_licence(const char *account_name, const char *plan_title, const char *expiry,
                       int days_left, bool expired, const char *lang, alarm_words *w)
{
    const words_table *t = table_of(lang);
    words_init(w);
    put(w->title, sizeof w->title, expired ? t->t_licence_expired : t->t_licence, expiry);
    if (expired) {
        put(w->body, sizeof w->body, t->b_licence_expired, plan_title, account_name, expiry);
    } else {
        put(w->body, sizeof w->body, t->b_licence, plan_title, account_name, expiry, days_left);
    }
}

void alarm_msg_over_quota(const char *account_name, long long used, long long limit,
                          const char *deadline, const char *lang, alarm_words *w)
{
    const words_table *t = table_of(lang);
    char u[32], l[32], day[64];
    words_init(w);
    bytes_text(used, u, sizeof u);
    bytes_text(limit, l, sizeof l);
    alarm_msg_date(deadline, lang, day, sizeof day);
    put(w->title, sizeof w->title, t->t_over, day);
    put(w->body, sizeof w->body, t->b_over, account_name, u, l, day);
}

void alarm_msg_over_quota_deleted(const char *account_name, long long limit,
                                  const db_quota_removed *r, const char *lang, alarm_words *w)
{
    const words_table *t = table_of(lang);
    char all[32], l[32], data[32], drive[32], pics[32], apps[32];
    words_init(w);
    bytes_text(r->bytes, all, sizeof all);
    bytes_text(limit, l, sizeof l);
    bytes_text(r->data_bytes, data, sizeof data);
    bytes_text(r->drive_bytes, drive, sizeof drive);
    bytes_text(r->picture_bytes, pics, sizeof pics);
    bytes_text(r->app_file_bytes, apps, sizeof apps);
    put(w->title, sizeof w->title, "%s", t->t_over_deleted);
    put(w->body, sizeof w->body, t->b_over_deleted, account_name, l, all, data, r->drive_files,
        drive, r->report_files, r->pictures, pics, r->app_files, apps);
}
