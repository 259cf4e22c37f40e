/* server/base/picture_info.c: the type and size of an uploaded picture
 * from its header (dashboard picture panels). */
#include <string.h>

#include "picture_info.h"
#include "t.h"

static int read_bytes(const unsigned char *b, size_t n, picture_info *info)
{
    char msg[160] = "";
    int rc = picture_info_read(b, n, info, msg, sizeof msg);
    /* A refusal always says why. */
    return rc != 0 && msg[0] == '\0' ? -2 : rc;
}

static void picture_info_reads_png_gif_jpeg_webp(void)
{
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13,
                                        'I', 'H', 'D', 'R', 0, 0, 1, 44, 0, 0, 0, 200,
                                        8, 2, 0, 0, 0, 1, 2, 3, 4};
    static const unsigned char gif[] = {'G', 'I', 'F', '8', '7', 'a', 20, 0, 10, 0, 0};
    /* SOI, APP0 (16 bytes), SOF0: height 48, width 64 */
    static const unsigned char jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1,
                                         1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xFF, 0xC0, 0, 17, 8, 0,
                                         48, 0, 64, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1};
    static const unsigned char vp8x[] = {'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E', 'B', 'P',
                                         'V', 'P', '8', 'X', 10, 0, 0, 0, 0, 0, 0, 0,
                                         63, 0, 0, 47, 0, 0};
    static const unsigned char vp8[] = {'R', 'I', 'F', 'F', 30, 0, 0, 0, 'W', 'E', 'B', 'P',
                                        'V', 'P', '8', ' ', 10, 0, 0, 0, 0, 0, 0,
                                        0x9D, 0x01, 0x2A, 64, 0, 48, 0};
    picture_info info;
    T_EQ_INT(read_bytes(png, sizeof png, &info), 0);
    T_EQ_STR(info.content_type, "image/png");
    T_EQ_INT(info.width, 300);
    T_EQ_INT(info.height, 200);
    T_EQ_INT(read_bytes(gif, sizeof gif, &info), 0);
    T_EQ_STR(info.content_type, "image/gif");
    T_EQ_INT(info.width, 20);
    T_EQ_INT(info.height, 10);
    T_EQ_INT(read_bytes(jpeg, sizeof jpeg, &info), 0);
    T_EQ_STR(info.content_type, "image/jpeg");
    T_EQ_INT(info.width, 64);
    T_EQ_INT(info.height, 48);
    T_EQ_INT(read_bytes(vp8x, sizeof vp8x, &info), 0);
    T_EQ_STR(info.content_type, "image/webp");
    T_EQ_INT(info.width, 64);
    T_EQ_INT(info.height, 48);
    T_EQ_INT(read_bytes(vp8, sizeof vp8, &info), 0);
    T_EQ_INT(info.width, 64);
    T_EQ_INT(info.height, 48);
}

static void picture_info_refuses_cut_damaged_and_huge_headers(void)
{
    unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13,
                           'I', 'H', 'D', 'R', 0, 0, 1, 44, 0, 0, 0, 200,
                           8, 2, 0, 0, 0, 1, 2, 3, 4};
    static const unsigned char jpeg_no_sof[] = {0xFF, 0xD8, 0xFF, 0xDA, 0, 2};
    static const unsigned char jpeg_cut[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J'};
    picture_info info;
    for (size_t n = 0; n < sizeof png; n++) {
        T_EQ_INT(read_bytes(png, n, &info), -1); /* every cut before the CRC */
    }
    png[16] = 0x7F; /* a width of over two billion pixels */
    T_EQ_INT(read_bytes(png, sizeof png, &info), -1);
    png[16] = 0;
    png[19] = 0; /* and a width of 0 */
    png[18] = 0;
    T_EQ_INT(read_bytes(png, sizeof png, &info), -1);
    T_EQ_INT(read_bytes(jpeg_no_sof, sizeof jpeg_no_sof, &info), -1);
    T_EQ_INT(read_bytes(jpeg_cut, sizeof jpeg_cut, &info), -1);
    T_EQ_INT(read_bytes((const unsigned char *)"<svg/>", 6, &info), -1);
    T_EQ_INT(read_bytes(NULL, 0, &info), -1);
}

void suite_picture_info(void)
{
    T_RUN(picture_info_reads_png_gif_jpeg_webp);
    T_RUN(picture_info_refuses_cut_damaged_and_huge_headers);
}
