/** Budgets, covers, Patungan lagi and chat (issue 13): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {
  'group.chat.tab': 'Obrolan',
  'group.chat.title': 'Obrolan grup',
  'group.chat.hint':
    'Semua anggota ruang ini melihat pesanmu. Komentar produk ada di kartu produknya.',
  'group.chat.none': 'Belum ada pesan. Sapa teman-temanmu!',
  'group.chat.label': 'Pesan',
  'group.chat.placeholder': 'Tulis pesan…',
  'group.chat.send': 'Kirim',
  'group.chat.unread': '{count} pesan belum dibaca',
  'group.chat.formerMember': 'Mantan anggota',
};

export type GroupKey = keyof typeof messages;
export default messages;
