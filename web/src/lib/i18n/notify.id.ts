/** Notifications and sharing (issue 13): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {
  'notify.invite.title': 'Undangan ke {room}',
  'notify.invite.body': '{from} mengundangmu belanja bareng di {room}.',
  'notify.deadline.title': '{room}: {minutes} menit lagi',
  'notify.deadline.body':
    'Batas waktu belanja {minutes} menit lagi. Lengkapi keranjangmu sekarang.',
  'notify.share_due.title': '{room}: waktunya bayar',
  'notify.share_due.body': 'Bagianmu {amount}. Bayar sebelum waktu penahanan stok habis.',
  'notify.hold.title': '{room}: {minutes} menit lagi untuk bayar',
  'notify.hold.body':
    'Stok ditahan {minutes} menit lagi. Kalau belum semua membayar, pesanan dibatalkan.',
  'notify.ready.title': '{room}: pesanan siap diambil',
  'notify.ready.body': 'Pesananmu siap diambil di toko.',
  'notify.ready.bodyCode': 'Pesananmu siap diambil di toko. Kode ambil: {code}.',
  'notify.expired.title': '{room}: waktu pembayaran habis',
  'notify.expired.body': 'Pesanan tidak jadi karena belum semua membayar. Belum membayar: {names}.',
  'notify.cancelled.title': '{room}: pesanan dibatalkan',
  'notify.cancelled.body': 'Pesanan dibatalkan. Belum membayar: {names}.',
  'notify.cancelled.bodyAllPaid': 'Pesanan dibatalkan. Tidak ada yang ditagih.',
  'notify.bell': 'Notifikasi',
  'notify.bellUnread': 'Notifikasi, {count} belum dibaca',
  'notify.page.title': 'Notifikasi',
  'notify.page.empty': 'Belum ada notifikasi.',
  'notify.page.markAll': 'Tandai semua sudah dibaca',
  'notify.page.unread': 'Belum dibaca',
  'notify.page.open': 'Buka',
  'notify.toggle.label': 'Notifikasi di perangkat ini',
  'notify.toggle.on': 'Aktifkan notifikasi',
  'notify.toggle.off': 'Matikan notifikasi',
  'notify.toggle.enabled': 'Notifikasi aktif di perangkat ini.',
  'notify.toggle.hint': 'Kabar undangan, batas waktu, dan pembayaran dikirim ke perangkat ini.',
  'notify.toggle.denied': 'Izin notifikasi ditolak di peramban ini. Ubah di pengaturan peramban.',
  'notify.toggle.unsupported': 'Peramban ini tidak mendukung notifikasi.',
  'notify.toggle.failed': 'Notifikasi belum bisa diaktifkan. Coba lagi nanti.',
  'notify.share.whatsapp': 'Bagikan ke WhatsApp',
  'notify.share.inviteText': 'Yuk belanja bareng di {room} lewat Patungan: {url}',
  'notify.share.payText': 'Bayar bagianmu untuk {room} di Patungan: {url}',
};

export type NotifyKey = keyof typeof messages;
export default messages;
