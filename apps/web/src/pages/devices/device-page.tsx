import { PageHeader } from '../../ui/page-header';

export function DevicePage() {
  return <PageHeader title="Device" />;
}
